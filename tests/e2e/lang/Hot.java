// A hot named Java method under a known caller, for the profiler's tests
// (run with -XX:+PreserveFramePointer; its perf map from jcmd).
public class Hot {
    static long hotMethod(long n) {
        long s = 0;
        for (long i = 0; i < n; i++) {
            s = (s + i * i) % 1000003;
        }
        return s;
    }

    static long callerOfHot() {
        return hotMethod(5_000_000);
    }

    public static void main(String[] args) {
        long sink = 0;
        System.out.println("ready");
        for (;;) {
            sink += callerOfHot();
            if (sink == 42) {
                System.out.println(sink);
            }
        }
    }
}
