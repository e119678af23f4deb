"""The sandbox: the only code that runs untrusted programs.

The engine starts `../_worker.py` as a separate, lean interpreter (`python -S -I`,
standard library only: nothing here imports acecoder, and the engine never imports
this package) and talks to it through two pipes (jobs in, results out). Process tree,
per worker:

    engine (trusted, holds the expected test values)
     └─ outer: enters new pid, net, mount, ipc and uts namespaces, makes every mount
        read-only, puts a private tmpfs on /tmp and /dev/shm
         └─ zygote: PID 1 of the new pid namespace; pre-imports common modules, then
            forks one child per program run and watches it
             └─ child: drops to an unprivileged uid (or all capabilities), runs the
                program once, then its tests in order, one result frame per test,
                written into memory it shares with the zygote (`Frames`)

What holds, where the kernel allows it (see `isolation` in the hello message):
- Every process a program starts dies with it: the zygote is init of its pid
  namespace, so `kill(-1)` reaches everything, also double-forked or setsid'd ones.
- No network (an empty network namespace), no writes outside /tmp (read-only
  mounts and an unprivileged uid), no signals to processes outside the namespace.
- Limits on address space, file size, open files, processes and CPU time.
- A hang, crash or exit in one test costs only that test: the zygote kills the
  child once it used the test's CPU time (read from the child's CPU clock; a
  wall-clock backstop, 5x the limit, ends tests that sleep or block), then re-runs
  the program in a fresh child and continues at the next test.

What does not hold: the child can write anything into its own report region, so a
test that the child judges itself ("plain" tests, see `_plan.py`) can be forged by
a program written against this code. Tests of the form `assert <expr> <op> <expr>`
are judged by the engine on plain values, and the engine never sends expected
literals here, so those cannot be forged. No cgroup: CPU and memory are bounded by
rlimits, not by a controller; and a seccomp filter only in the mode without namespaces,
where it keeps a program from reaching other processes (`confine.py`).

How to audit it: about 1,100 lines of standard-library Python, docstrings included,
in an hour, in this order (each module's docstring says what it guarantees and what
it does not):

1. `../_worker.py` (5 min): the entry; which mode applies when (a sandbox uid as root,
   a user namespace, no namespaces) and what is set before the zygote starts.
2. `kernel.py` (5 min): every number handed to the kernel, to check against its headers.
3. `namespaces.py` (15 min): the namespaces and mounts, and the scratch space made
   empty after every program.
4. `confine.py` (10 min): the child's rlimits, uid or capabilities, seccomp filter.
5. `frames.py` (5 min): the pipes to the engine and the child's report region.
6. `child.py` (10 min): the process that runs the program and its tests.
7. `zygote.py` (15 min): the loop that forks, times, kills and reaps the children.

Then, on the trusted side, `../_results.py` reads the frames into results: a check
test's verdict is the engine's, never the child's.
"""
