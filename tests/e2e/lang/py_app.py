# A Python program with known nesting for the profiler's tests: main ->
# outer -> inner -> hashlib (a C extension), or with "ratio" heavy and
# light pure-Python work in the ratio 3:1 (by work); and a thread in
# time.sleep.
# Line numbers matter: tests look for "inner (py_app.py:LINE)".
import hashlib
import sys
import threading
import time


def inner(data):
    return hashlib.sha256(data).digest()  # INNER_LINE


def outer(data):
    for _ in range(200):
        inner(data)  # OUTER_LINE


def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def heavy():
    return spin(3000)  # HEAVY_LINE


def light():
    return spin(1000)  # LIGHT_LINE


def sleeper():
    while True:
        time.sleep(0.05)  # SLEEP_LINE


def worker():
    while True:
        heavy()
        light()


def main():
    threading.Thread(target=sleeper, daemon=True).start()
    print("ready", flush=True)
    if sys.argv[-1] == "ratio":
        worker()
    data = b"x" * 65536
    while True:
        outer(data)  # MAIN_LINE


if __name__ == "__main__":
    main()
