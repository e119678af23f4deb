"""What the sandbox loads after the model's program for a pytest suite. Not imported by
acecoder: `_suites.py` appends this file's text, and one line giving it the test file,
to the program, which the worker runs as module `solution` (so `from solution import f`
finds it without running it again). Each test of the job is `assert
__acecoder_pytest__(test_id)`, or, where the engine moved the test's expected values out
(`_pytest_checks.py`), `assert __pytest_checks__(__acecoder_pytest__(test_id), CHECKS)`:
the values the test's `__acecoder_check__` calls recorded go back to the engine.

At the first test, pytest itself (the sandbox's Python must have it) is configured on the
test file, written to the work directory: no plugin autoloading, no cache, no output
capture, no ini file. It collects the items, the file is deleted (a program cannot read
it back from disk; the harness forgets its text), and each test runs its item with pytest's own `runtestprotocol`,
fixtures, parametrization and `pytest.raises` included, the next item given so that
fixtures of a wider scope are torn down as pytest would. A failed call phase is a
failure; a failed set-up or tear-down, or a collection error, is an error; passed,
skipped and xfailed items pass, as pytest's exit status counts them.

`__acecoder_pytest_ids__()` returns the ids pytest collects, for a suite whose ids are not
known yet (the engine runs it on a stand-in `solution` whose every name exists).

A program runs in the same process as pytest, so, as with the engine's plain tests, a
program written against pytest's internals could forge its reports (see `_sandbox/frames.py`).
"""

__acecoder_pytest_state__ = None
__acecoder_pytest_values__ = []


def __acecoder_pytest_collect__(source):
    import os
    import sys

    sys.dont_write_bytecode = True  # no __pycache__ left behind by pytest's assertion rewriting
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import _pytest.config
    import _pytest.main

    class Errors:
        def __init__(self):
            self.found = []

        def pytest_collectreport(self, report):
            if report.failed:
                self.found.append(report.longreprtext)

    path = os.path.join(os.getcwd(), "test_solution.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    errors = Errors()
    args = [path, "-p", "no:cacheprovider", "-p", "no:stepwise", "-s", "-q", "--rootdir", os.getcwd(), "-c", os.devnull]
    config = _pytest.config._prepareconfig(args, plugins=[errors])
    config._do_configure()
    session = _pytest.main.Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    try:
        items = session.perform_collect()
    finally:
        os.unlink(path)
    for item in items:  # the recorder of the asserts whose comparison the engine makes
        module = getattr(item, "module", None)
        if module is not None:
            module.__acecoder_check__ = __acecoder_pytest_values__.append
    prefix = "test_solution.py::"
    ids = [item.nodeid[len(prefix):] if item.nodeid.startswith(prefix) else item.nodeid for item in items]
    error = " / ".join(errors.found[0].strip().splitlines()[-2:]) if errors.found else None  # the exception
    return ids, items, error


def __acecoder_pytest__(test_id):
    global __acecoder_pytest_state__
    if __acecoder_pytest_state__ is None:
        __acecoder_pytest_state__ = __acecoder_pytest_collect__(globals().pop("__ACECODER_TEST_FILE__"))
    ids, items, error = __acecoder_pytest_state__
    if error is not None:
        raise RuntimeError(f"pytest could not collect the test file: {error}")
    if test_id not in ids:
        raise LookupError(f"pytest did not collect {test_id}")
    import _pytest.runner

    at = ids.index(test_id)
    del __acecoder_pytest_values__[:]
    following = items[at + 1] if at + 1 < len(items) else None
    for report in _pytest.runner.runtestprotocol(items[at], nextitem=following, log=False):
        if report.failed:
            text = report.longreprtext[-1000:]
            if report.when == "call":
                raise AssertionError(text)
            raise RuntimeError(f"{report.when} failed: {text}")
    return list(__acecoder_pytest_values__) or True


def __acecoder_pytest_ids__():
    ids, _, error = __acecoder_pytest_collect__(globals().pop("__ACECODER_TEST_FILE__"))
    if error is not None:
        raise RuntimeError(f"pytest could not collect the test file: {error}")
    return ids
