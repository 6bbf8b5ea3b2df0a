#!/usr/bin/env python3
# epipe-after: writes into a pipe whose reader has gone and prints what each
# write returned. Python ignores SIGPIPE, so write(2) says EPIPE at once.
# Under the batch profile the second write of a run (two in a row) is
# staged, and so is the next one after the reader closed: it returns its
# count and the error comes later: the output differs, legitimately
# (libshim(7)).
import os

r, w = os.pipe()
os.write(w, b"x" * 64)
os.write(w, b"x" * 64)
os.close(r)
for i in range(5):
    try:
        print("write", i, "returned", os.write(w, b"y" * 64))
    except OSError as e:
        print("write", i, "errno", e.errno)
