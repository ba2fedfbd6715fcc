// A hot named JavaScript function under a known caller, for the profiler's
// tests (run with node --perf-basic-prof).
function hotLoop(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + i * i) % 1000003;
  return s;
}

function callerOfHot() {
  return hotLoop(2000000);
}

console.log("ready");
for (;;) callerOfHot();
