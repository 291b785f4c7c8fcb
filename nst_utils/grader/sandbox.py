"""Running a submission's code where it cannot touch anything else: the grader's OS sandbox.

One sandbox per run of a submission: util-linux `unshare` gives it its own mount, PID, network, IPC
and UTS namespaces (and a user namespace when the grader is not root), and `nst_utils.grader.jail`
builds inside them a read-only root holding only the interpreter, the installed packages and the
library built for the assignment (`nst_utils.grader.sandbox_library`: the graded answers withheld),
with an empty home and /tmp, resource limits, a seccomp filter and no rights (see its docstring).
Where the grader is root and cgroup v1's memory and pids controllers are there, each sandbox also
gets a cgroup of its own that caps all it holds together (`CGROUP_LIMITS`). The grader writes the
request on the sandbox's standard input and reads its replies, one JSON line per step, from a pipe
of their own; what the submission prints is counted and discarded. When a run ends, times out or
misbehaves, its PID namespace is killed, which kills every process the submission started. Nothing
here judges anything.
"""

import itertools
import json
import os
import selectors
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import backend
from ..errors import NSTError
from .wire import Malformed, parse_line

PACKAGE_DIR = Path(__file__).resolve().parent.parent
JAIL = Path(__file__).resolve().parent / "jail.py"
#: Resource limits of every process in a sandbox (setrlimit names and values). PyTorch's wheel
#: maps its CUDA libraries at import, over 3 GiB of address space even where no GPU is used.
LIMITS = {"RLIMIT_AS": (4 if backend.NAME == "torch" else 3) << 30, "RLIMIT_NPROC": 64,
          "RLIMIT_FSIZE": 32 << 20, "RLIMIT_NOFILE": 256, "RLIMIT_CORE": 0}
#: Size of each of the sandbox's two writable tmpfs folders, /tmp and its home.
TMPFS_SIZE = "64m"
HOME = "/home/student"
#: Bytes the submission may print in a run (more ends the run), and reply sizes.
OUTPUT_LIMIT = 1 << 20
MAX_REPLY_LINE, MAX_REPLY = 4 << 20, 16 << 20
#: Seconds a sandbox has to start (interpreter and TensorFlow) before its first step.
STARTUP_TIMEOUT = 120
#: The environment inside, and nothing else: single-threaded numerics keep within RLIMIT_NPROC.
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp",
       "LANG": "C.UTF-8", "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "NST_QUICK": "1",
       "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
       "KERAS_BACKEND": backend.NAME}
NAMESPACES = ["--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
HOW_TO_ENABLE = ("enable unprivileged user namespaces (`sudo sysctl -w "
                 "kernel.unprivileged_userns_clone=1`, or on Ubuntu 24.04 `sudo sysctl -w "
                 "kernel.apparmor_restrict_unprivileged_userns=0`) or run the grader as root; or "
                 "pass --no-sandbox to grade without one (only for submissions you trust)")

_free_slots, _slots_lock = set(), threading.Lock()
_next_slot = itertools.count()


class Timeout(Exception):
    """A step did not reply in time."""


class Ended(Exception):
    """The sandbox's process ended before replying."""


class Flooded(Exception):
    """The submission printed more than `OUTPUT_LIMIT` bytes."""


class BadReply(Exception):
    """The reply pipe carried something that is not a line of the format (too long, too much)."""


def read_only_paths():
    """What the sandbox sees of the host, read-only: system libraries, Python and the package
    folders on its path (a virtual environment's .pth may add another one). Not the installed
    nst_utils: the sandbox imports the library built for it."""
    paths = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
             "/etc/ld.so.cache", sys.prefix, sys.base_prefix, sys.exec_prefix,
             sys.base_exec_prefix}
    paths |= {entry for entry in sys.path if os.path.isdir(entry)
              and os.path.basename(entry) in ("site-packages", "dist-packages")
              and entry != site.getusersitepackages()}  # -I leaves the user's own out anyway
    paths |= {os.path.realpath(path) for path in paths}  # a virtual environment behind a symlink
    return sorted(path for path in paths
                  if not any(path.startswith(other + "/") for other in paths))


def hidden_paths():
    """What the sandbox must not see inside its read-only paths: the installed package with the
    answers and the solution notebooks, where it lies inside them (a wheel in site-packages)."""
    return [str(PACKAGE_DIR)] if any(str(PACKAGE_DIR).startswith(path + "/")
                                     for path in read_only_paths()) else []


def _take_slot():
    """A number no running sandbox of this grader has; give it back with `_free_slots.add`."""
    with _slots_lock:
        return _free_slots.pop() if _free_slots else next(_next_slot)


def _sandbox_id(slot):
    """A user and group id of nobody on this machine, one per running sandbox so that process
    limits never add up across parallel sandboxes (used when the grader runs as root)."""
    return 2_000_000_000 + (os.getpid() % 1_000_000) * 1000 + slot % 1000


def _config(namespaces, home, cpu_seconds, library, result_fd=None, slot=0):
    uid = _sandbox_id(slot) if os.getuid() == 0 else 0
    return {"namespaces": namespaces, "root": None, "home": HOME if namespaces else home,
            "result_fd": result_fd, "library": library and str(library),
            "read_only": read_only_paths(), "hidden": hidden_paths(), "uid": uid, "gid": uid,
            "tmpfs_size": TMPFS_SIZE,
            "limits": {**LIMITS, "RLIMIT_CPU": int(cpu_seconds)}, "env": ENV}


def _command(config):
    python = [sys.executable, "-I", "-X", "utf8", str(JAIL), json.dumps(config)]
    if not config["namespaces"]:
        return python
    user = [] if os.getuid() == 0 else ["--user", "--map-root-user"]
    return [shutil.which("setpriv") or "setpriv", "--pdeathsig", "KILL",
            shutil.which("unshare") or "unshare", *user, *NAMESPACES, *python]


def check_available():
    """Raise `NSTError` (one line: what is missing, how to enable it) if no sandbox can be built."""
    for tool in ("unshare", "setpriv"):
        if shutil.which(tool) is None:
            raise NSTError(f"Cannot build a sandbox for the submissions: util-linux `{tool}` is "
                           f"not installed; install util-linux, {HOW_TO_ENABLE}.")
    with tempfile.TemporaryDirectory(prefix="nst-sandbox-") as root:
        config = {**_config(True, None, 10, None), "root": root, "check_only": True}
        try:
            done = subprocess.run(_command(config), capture_output=True, timeout=60,
                                  env=ENV, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise NSTError("Cannot build a sandbox for the submissions: a test sandbox did not "
                           "start within 60 s.") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise NSTError(f"Cannot build a sandbox for the submissions ({lines[-1][:200]}); "
                       f"{HOW_TO_ENABLE}.")


class Session:
    """One running sandbox: send the request, then read replies step by step. Use with `with`,
    which kills the sandbox (and every process in it) on the way out."""

    def __init__(self, request, library, namespaces=True, cpu_seconds=600):
        if _stopping.is_set():
            raise Stopped()
        self._dirs = [tempfile.mkdtemp(prefix="nst-sandbox-")]
        read_end, write_end = os.pipe()
        self._slot = _take_slot()
        config = _config(namespaces, self._dirs[0], cpu_seconds, library, write_end, self._slot)
        if namespaces:
            config["root"] = self._dirs[0]  # an empty mount point, only mounted over inside
        self._cgroups = Cgroups.create(self._slot) if namespaces else None
        self._proc = subprocess.Popen(
            _joining(self._cgroups, _command(config)), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(write_end,), env=ENV,
            start_new_session=True, cwd=self._dirs[0])
        os.close(write_end)
        self._replies, self._buffer, self._printed, self._received = read_end, b"", 0, 0
        self._selector = selectors.DefaultSelector()
        for fd in (read_end, self._proc.stdout.fileno()):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)
        with _live_lock:
            _live.add(self)
        if _stopping.is_set():  # stop_all ran while this one started
            self.kill()
            raise Stopped()
        try:
            self._proc.stdin.write(json.dumps(request).encode("utf-8"))
            self._proc.stdin.close()
        except OSError:
            pass  # it died already: the first read says so

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def read_reply(self, timeout):
        """The next reply line (bytes), or raise Timeout, Ended, Flooded or BadReply."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_REPLY_LINE or self._received > MAX_REPLY:
                raise BadReply("a reply line is too long")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            events = self._selector.select(min(left, 1.0))
            if not events and self._proc.poll() is not None and not self._pending():
                raise Ended(self._proc.returncode)
            for key, _ in events:
                self._read(key.fd)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _pending(self):
        return any(self._read(fd) for fd in (self._replies, self._proc.stdout.fileno()))

    def _read(self, fd):
        """Read what is there; True if anything was. Printed bytes are counted, never kept."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        if not data:
            if fd in self._selector.get_map():
                self._selector.unregister(fd)
            return False
        if fd == self._replies:
            self._buffer += data
            self._received += len(data)
        else:
            self._printed += len(data)
            if self._printed > OUTPUT_LIMIT:
                raise Flooded()
        return True

    def kill(self):
        """Kill the sandbox: its PID namespace's first process, which takes every other with it.
        Safe to call twice, and from another thread (`stop_all`)."""
        with _live_lock:
            if self not in _live:
                return
            _live.discard(self)
        inside = _children(self._proc.pid)
        for pid in inside:
            _signal(pid, signal.SIGKILL)
        _signal(-self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        _wait_gone(inside)
        if self._cgroups:
            self._cgroups.remove()
        self._selector.close()
        os.close(self._replies)
        self._proc.stdout.close()
        for folder in self._dirs:
            shutil.rmtree(folder, ignore_errors=True)
        with _slots_lock:
            _free_slots.add(self._slot)  # every process of that user id is dead now


class Stopped(Exception):
    """The grader is stopping (`stop_all`): no new sandbox starts."""


_live, _live_lock, _stopping = set(), threading.Lock(), threading.Event()


def stop_all():
    """Kill every running sandbox of this grader and start no new one (SIGINT, SIGTERM)."""
    _stopping.set()
    with _live_lock:
        sessions = list(_live)
    for session in sessions:
        session.kill()


def stopping():
    """Whether `stop_all` has run."""
    return _stopping.is_set()


def sandbox_uids():
    """The user ids this grader's sandboxes run as, when it is root."""
    first = _sandbox_id(0)
    return range(first, first + 1000)


#: What one sandbox may hold in all, where cgroups can cap it: memory in every form (its
#: processes, files in its tmpfs folders, memory files) and its processes and threads.
CGROUP_LIMITS = {"memory": {"memory.limit_in_bytes": 4 << 30,
                            "memory.memsw.limit_in_bytes": 4 << 30},
                 "pids": {"pids.max": LIMITS["RLIMIT_NPROC"]}}
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroups_available():
    """Whether each sandbox can have cgroups of its own: a root grader, cgroup v1's memory and
    pids controllers."""
    return os.getuid() == 0 and all(os.access(CGROUP_ROOT / name / "cgroup.procs", os.W_OK)
                                    for name in CGROUP_LIMITS)


class Cgroups:
    """A sandbox's own cgroups (v1 memory and pids), when the grader is root and they exist."""

    def __init__(self, folders):
        self.folders = folders

    @classmethod
    def create(cls, slot):
        """The cgroups for sandbox `slot` with `CGROUP_LIMITS` written, or None where this
        machine has none to give (not root, cgroup v2 or no controllers)."""
        if not cgroups_available():
            return None
        _remove_stale_cgroups()
        folders = []
        try:
            for name, limits in CGROUP_LIMITS.items():
                folder = CGROUP_ROOT / name / f"nst-grade-{os.getpid()}-{slot}"
                folder.mkdir(exist_ok=True)
                folders.append(folder)
                for key, value in limits.items():
                    if (folder / key).exists():  # memsw: only with swap accounting
                        (folder / key).write_text(str(value))
        except OSError:
            cls(folders).remove()
            return None
        return cls(folders)

    def remove(self, attempts=100):
        """Remove the cgroups, once every process in them has ended (retrying for a second)."""
        for folder in self.folders:
            for _ in range(attempts):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def _remove_stale_cgroups():
    """Remove the empty cgroups of graders that were killed before they could (SIGKILL)."""
    for name in CGROUP_LIMITS:
        for folder in (CGROUP_ROOT / name).glob("nst-grade-*-*"):
            pid = folder.name.split("-")[2]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                Cgroups([folder]).remove(attempts=1)


def _joining(cgroups, command):
    """`command`, started by a shell that first moves itself into `cgroups`, so that every
    process of the sandbox is in them from its first instruction."""
    if cgroups is None:
        return command
    procs = [str(folder / "cgroup.procs") for folder in cgroups.folders]
    script = "".join(f'echo $$ > "${index + 1}" && ' for index in range(len(procs)))
    return ["/bin/sh", "-c", f"{script}shift {len(procs)} && exec \"$@\"", "sh", *procs,
            *command]


def _children(pid):
    """Process ids of `pid`'s children and grandchildren (setpriv -> unshare -> the jail)."""
    found = []
    for parent in (pid, *_direct_children(pid)):
        found += _direct_children(parent)
    return found


def _direct_children(pid):
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _wait_gone(pids, timeout=5):
    """Wait (briefly) until processes are dead: a PID namespace's first process exits only after
    the kernel has killed every other process in it."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                break
            if state in ("Z", "X"):
                break
            time.sleep(0.01)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_steps(steps, cell_timeout, total_timeout, library, namespaces=True):
    """Run a submission's steps (cells, then probes) in sandboxes, one step at a time.

    Each step has `cell_timeout` seconds (the first, which starts the sandbox, `STARTUP_TIMEOUT`),
    and all runs together `total_timeout`. A step that times out, prints too much or ends the
    process costs only itself: the sandbox is killed and a fresh one runs the steps again without
    it, skipping the probes already answered. Returns ({step: reply dict}, {step: problem}, None),
    or ({}, {}, reason) when a reply was malformed: then the whole submission scores zero.
    """
    started = time.monotonic()
    replies, problems = {}, {}
    probes = [index for index, step in enumerate(steps) if step["kind"] == "probe"]
    while any(index not in replies and index not in problems for index in probes):
        run = [index for index, step in enumerate(steps) if index not in problems
               and (step["kind"] == "cell" or index not in replies)]
        remaining = total_timeout - (time.monotonic() - started)
        if remaining < 1:
            for index in run:
                problems.setdefault(index, f"not checked: the submission used up the total "
                                           f"time limit of {total_timeout} s")
            break
        with Session({"steps": [steps[index] for index in run]}, library, namespaces,
                     cpu_seconds=remaining + 5) as session:
            for position, index in enumerate(run):
                limit = STARTUP_TIMEOUT if position == 0 else cell_timeout
                limit = int(max(1, min(limit, total_timeout - (time.monotonic() - started))))
                try:
                    reply = _parse(session.read_reply(limit), position)
                except Timeout:
                    problems[index] = f"timed out after {limit} s"
                except Flooded:
                    problems[index] = (f"printed more than the limit of {OUTPUT_LIMIT >> 20} MB; "
                                       "the sandbox was stopped")
                except Ended as ended:
                    problems[index] = f"the submission's process ended ({_status(ended.args[0])})"
                except (BadReply, ValueError) as error:
                    return {}, {}, f"malformed reply from the sandbox: {error}"
                else:
                    replies[index] = reply
                    continue
                break
        if 0 in problems:  # the sandbox itself did not start: nothing would run
            break
    return replies, problems, None


def _parse(line, position):
    """One reply line, which must be a JSON object for step `position` of this run."""
    message = parse_line(line)
    if type(message.get("step")) is not int or message["step"] != position:
        raise Malformed(f"expected the reply to step {position}")
    return message


def _status(code):
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
        return f"killed by signal {name}"
    if code is not None and code > 128:
        return f"exit status {code}; a process killed by a signal, e.g. for its memory limit"
    return f"exit status {code}"
