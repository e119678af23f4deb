"""The report frames: how results leave the sandbox, and what the zygote accepts of them.

Two channels. The zygote and the engine speak over two pipes (`send`, `receive`: a
4-byte length, then a marshal blob the engine wrote or will read). A child reports
into `Frames`, a memory region it shares with the zygote; it holds no descriptor of
the pipes (`child.py` closes every descriptor) and so cannot write to the engine.

Every test frame is its kind (one byte, below), its CPU and wall seconds (`TIMING`),
then its body: an error text, or the JSON of the values of a check test.

Guarantees:
- The zygote reads a child's frames only once the child and every process it started
  are dead (`zygote.Run.close`), so nothing can change them while they are read.
- `take` returns at most the frames the zygote asked for, each at most MAX_FRAME bytes
  plus its timing, and stops at the first one whose length does not parse; a run
  reports at most MAX_TOTAL bytes in all (a child that tries more is ended, and its
  test reported as crashed).
- The region is emptied after every run: a program never reads an earlier one's reports.

Does not: authenticate a frame. A child can write anything into its own region, as a
program written against this file can; the engine therefore judges check tests on the
values alone (never a child's PASS for them) and only "plain" tests, judged in the
child, can be forged (see the package docstring).
"""

import mmap
import os
import struct

HEADER = struct.Struct("<I")
MAX_FRAME = 1 << 20  # bytes one test may report (a value's JSON); more is an error
MAX_TOTAL = 16 << 20  # bytes one program run may report in all (the shared region's size)

# Frame kinds. The child writes the load frame once, then one frame per test.
LOAD_OK, SYNTAX, IMPORT, RUNTIME, MEMORY = b"L", b"S", b"I", b"R", b"M"
PASS, FAIL, ERROR, VALUES, INVALID = b"P", b"F", b"E", b"V", b"X"
# Kinds only the zygote writes, for runs it had to end.
TIMEOUT, CRASHED, NOT_RUN = b"T", b"C", b"N"
# Every test frame: its kind, then the test's CPU and wall seconds, then its body.
TIMING = struct.Struct("<ff")
NOT_RUN_FRAME = NOT_RUN + TIMING.pack(0.0, 0.0)


def send(fd, payload):
    data = HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive(fd):
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    return read_exact(fd, HEADER.unpack(header)[0])


class Frames:
    """Where a child reports: a memory region it shares with the zygote.

    The child appends frames (a length, then the frame) and after each one updates the
    counts at the start: bytes used, frames written. The zygote reads the count while
    the child runs (its progress, for the time limits) and the frames once the child and
    everything it started are dead, then empties the region for the next run. No system
    call per test, and what a child wrote survives its being killed. A child can write
    anything here, as it could into a pipe: `take` refuses what does not parse.
    """

    COUNTS = struct.Struct("<II")
    OVERFLOW = 0xFFFFFFFF  # the count a child writes when a frame does not fit

    def __init__(self, size):
        self.region = mmap.mmap(-1, self.COUNTS.size + size)  # anonymous, MAP_SHARED
        self.end, self.count = self.COUNTS.size, 0

    def add(self, frame):
        """In the child."""
        at, size = self.end, len(frame)
        if at + HEADER.size + size > len(self.region):
            self.COUNTS.pack_into(self.region, 0, at, self.OVERFLOW)
            os._exit(0)
        HEADER.pack_into(self.region, at, size)
        self.region[at + HEADER.size : at + HEADER.size + size] = frame
        self.end, self.count = at + HEADER.size + size, self.count + 1
        self.COUNTS.pack_into(self.region, 0, self.end, self.count)

    def written(self):
        """In the zygote, while the child runs: frames so far, or None once it overflowed."""
        count = self.COUNTS.unpack_from(self.region, 0)[1]
        return None if count == self.OVERFLOW else count

    def take(self, most):
        """In the zygote, once no process of the run is left: up to `most` frames, up to
        the first that does not parse; then the region is emptied for the next run."""
        end, count = self.COUNTS.unpack_from(self.region, 0)
        region, frames, at = self.region, [], self.COUNTS.size
        end = min(end, len(region))
        while at + HEADER.size <= end and len(frames) < min(count, most):
            (size,) = HEADER.unpack_from(region, at)
            if not 0 < size <= MAX_FRAME + TIMING.size or at + HEADER.size + size > end:
                break
            frames.append(region[at + HEADER.size : at + HEADER.size + size])
            at += HEADER.size + size
        # The next program must not read this one's results.
        if end > 1 << 20:
            region.madvise(mmap.MADV_REMOVE)  # and give back the memory of a large report
        else:
            region[:end] = bytes(end)
        return frames
