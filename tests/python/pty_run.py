"""Runs a command as a person at a shell sees it: its stderr on a
pseudo-terminal (200 columns wide), its stdin and stdout on files.

usage: pty_run.py STDIN_FILE STDOUT_FILE TERMINAL_FILE CMD [ARG...]

STDOUT_FILE "-" puts stdout on the terminal too (a person reading the
messages on the screen).

Everything the command wrote to the terminal is saved to TERMINAL_FILE (as
the terminal received it: escape sequences included, line ends as CR LF);
the command's exit status is printed on stdout.
"""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios


def main():
    stdin_path, stdout_path, terminal_path = sys.argv[1:4]
    cmd = sys.argv[4:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    with open(stdin_path, "rb") as fin:
        if stdout_path == "-":
            child = subprocess.Popen(cmd, stdin=fin, stdout=slave, stderr=slave, close_fds=True)
        else:
            with open(stdout_path, "wb") as fout:
                child = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=slave, close_fds=True)
    os.close(slave)
    received = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command closed the terminal (it exited)
            break
        if not data:
            break
        received.append(data)
    code = child.wait()
    os.close(master)
    with open(terminal_path, "wb") as f:
        f.write(b"".join(received))
    print(code)


if __name__ == "__main__":
    main()
