"""The first code to run inside a grading sandbox: build a minimal root, then drop every right.

`nst_utils.grader.sandbox` starts this file as a script, as process 1 of fresh PID, mount, network,
IPC and UTS namespaces (and a user namespace when the grader is not root). It uses the standard
library only and no file of the submission. With its JSON configuration (argv[1]) it:

1. mounts a small tmpfs as the new root and bind-mounts read-only, at their usual paths, only the
   interpreter, the installed packages, the `nst_utils` package and the system libraries,
   covering the configuration's hidden folders (solutions inside them) with empty ones; adds
   `/dev/null`, `/dev/zero`, `/dev/urandom`, a fresh `/proc`, and empty size-capped tmpfs `/tmp`
   and home; mounts the library built for this assignment (`nst_utils.grader.sandbox_library`: the
   graded answers withheld) at `LIBRARY_MOUNT`, in place of the installed package, which is not
   mounted; then makes the root read-only and switches to it (pivot_root), unmounting the rest;
2. sets the resource limits, drops every capability, sets no_new_privs, and (when it is real
   root) becomes an unprivileged user id, so that the process limit applies; then installs a
   seccomp filter (`SECCOMP_DENIED`): no new namespaces, mounts, keyrings, memory files or
   shared memory segments, whatever the process does next;
3. replaces the environment with the configuration's, and runs `nst_utils.grader.worker` from the
   built library.

Without ``"namespaces"`` it only does steps 2 (limits, no filter) and 3: the instructor's
`--no-sandbox`.
"""

import ctypes
import json
import os
import resource
import runpy
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "urandom", "random")
RESULT_FD = 3
#: Where the sandbox finds the library built for it (first on its import path).
LIBRARY_MOUNT = "/nst"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags),
                       _bytes(data)), f"mount {target}")


def _bytes(text):
    return None if text is None else os.fsencode(text)


def _locked_flags(path):
    """The flags of the mount holding `path` that a remount inside a user namespace must keep."""
    flags = os.statvfs(path).f_flag
    pairs = [(os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
             (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
             (os.ST_RELATIME, MS_RELATIME)]
    return sum(mount_flag for stat_flag, mount_flag in pairs if flags & stat_flag)


def _bind_read_only(source, root, extra=MS_NOSUID | MS_NODEV):
    """Bind-mount `source` at the same path under `root`, read-only."""
    target = root + source
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None,
           MS_BIND | MS_REMOUNT | MS_RDONLY | extra | _locked_flags(source))


def build_root(config):
    """Steps 1 of the module docstring: a read-only minimal root, entered with pivot_root."""
    root, home = config["root"], config["home"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    # The writable folders first: a checkout or virtual environment that lives under /tmp is then
    # bind-mounted, read-only, on top of the sandbox's own /tmp rather than clashing with it.
    size = config["tmpfs_size"]
    os.makedirs(root + "/tmp")
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    os.makedirs(root + home)
    _mount("tmpfs", root + home, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={size},mode=700,uid={config['uid']},gid={config['gid']}")
    for path in config["read_only"]:
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            os.symlink(os.readlink(path), root + path)
        elif os.path.exists(path):
            _bind_read_only(path, root)
    for path in config["hidden"]:
        if os.path.isdir(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "size=4k,mode=555")
    if config.get("library"):
        os.makedirs(root + LIBRARY_MOUNT)
        _mount(config["library"], root + LIBRARY_MOUNT, None, MS_BIND | MS_REC)
        _mount(None, root + LIBRARY_MOUNT, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
               | MS_NODEV | _locked_flags(config["library"]))
    for device in DEVICES:
        _bind_read_only(f"/dev/{device}", root, extra=MS_NOSUID)
    os.symlink("/proc/self/fd", root + "/dev/fd")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    _check(_libc.syscall(SYS_PIVOT_ROOT[os.uname().machine], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "unmount the old root")  # the host's files are gone
    os.chdir(home)


def drop_rights(config):
    """Step 2: resource limits, no capabilities, no_new_privs, an unprivileged user id."""
    for name, value in config["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if config["namespaces"]:
        for capability in range(64):
            if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                break  # past the last capability this kernel knows
        _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if not config["namespaces"]:
        return  # --no-sandbox: the submission runs as the instructor, with the limits only
    if os.getuid() == 0 and config["uid"] != 0:
        os.setgroups([])
        os.setresgid(config["gid"], config["gid"], config["gid"])
        os.setresuid(config["uid"], config["uid"], config["uid"])  # clears every capability
    else:
        _drop_capabilities()
    # A change of user id clears the parent-death signal that `unshare --kill-child` set.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    install_seccomp_filter()


#: System calls refused inside the sandbox (errno EPERM), by architecture: new or other
#: namespaces (the process would be root in a user namespace of its own, free to mount a tmpfs
#: past the size limit), mounts, keyrings (the grader's session keyring is inherited), memory
#: that outlives the address-space limit (memfd, SysV shared memory), and kernel interfaces no
#: exercise needs (io_uring, bpf, userfaultfd, perf). clone3 answers ENOSYS, so that the C library
#: falls back to clone, whose namespace flags the filter can read.
SECCOMP_DENIED = {  # name: (number on x86_64, number on aarch64)
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "memfd_create": (319, 279), "memfd_secret": (447, 447),
    "shmget": (29, 194), "io_uring_setup": (425, 425), "bpf": (321, 280),
    "userfaultfd": (323, 282), "perf_event_open": (298, 241), "open_tree": (428, 428),
    "move_mount": (429, 429), "fsopen": (430, 430), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442), "open_by_handle_at": (304, 265)}
MACHINES = ("x86_64", "aarch64")  # the columns of SECCOMP_DENIED
SECCOMP_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # AUDIT_ARCH_*
SYS_CLONE, SYS_CLONE3 = {"x86_64": 56, "aarch64": 220}, 435
#: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET and NEWTIME.
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 \
    | 0x20000000 | 0x40000000 | 0x00000080
X32_SYSCALL_BIT = 0x40000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EPERM, ENOSYS = 1, 38


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine):
    """The classic-BPF program of the filter, as (code, jt, jf, k) tuples."""
    load, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|..., RET
    denied = sorted(numbers[MACHINES.index(machine)] for numbers in SECCOMP_DENIED.values())
    program = [(load, 0, 0, 4),  # seccomp_data.arch
               (jeq, 1, 0, SECCOMP_ARCH[machine]), (ret, 0, 0, RET_KILL_PROCESS),
               (load, 0, 0, 0)]  # seccomp_data.nr
    if machine == "x86_64":  # the x32 ABI's numbers would dodge every comparison below
        program.append((jge, 0, 1, X32_SYSCALL_BIT))
        program.append((ret, 0, 0, RET_ERRNO | EPERM))
    program.append((jeq, 0, 1, SYS_CLONE3))
    program.append((ret, 0, 0, RET_ERRNO | ENOSYS))
    program.append((jeq, 0, 4, SYS_CLONE[machine]))
    program.append((load, 0, 0, 16))  # the low half of the first argument: clone's flags
    program.append((jset, 0, 1, CLONE_NAMESPACES))
    program.append((ret, 0, 0, RET_ERRNO | EPERM))
    program.append((ret, 0, 0, RET_ALLOW))  # a thread or a process in the same namespaces
    for position, number in enumerate(denied):
        # equal: jump to the EPERM at the end; else: on to the next comparison
        program.append((jeq, len(denied) - position, 0, number))
    program += [(ret, 0, 0, RET_ALLOW), (ret, 0, 0, RET_ERRNO | EPERM)]
    return program


def install_seccomp_filter():
    """Refuse `SECCOMP_DENIED` (and namespace flags to clone) to this process and its children
    for good; needs no_new_privs."""
    machine = os.uname().machine
    if machine not in MACHINES:
        raise OSError(f"no seccomp filter for the {machine} architecture")
    program = seccomp_program(machine)
    filters = (_SockFilter * len(program))(*program)
    fprog = _SockFprog(len(program), filters)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
           "seccomp filter")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def _drop_capabilities():
    """Empty the effective, permitted and inheritable capability sets (capset, version 3)."""
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data), "drop capabilities")


def main():
    config = json.loads(sys.argv[1])
    if config["result_fd"] not in (None, RESULT_FD):  # the worker answers on descriptor 3
        os.dup2(config["result_fd"], RESULT_FD)
        os.close(config["result_fd"])
    if config["namespaces"]:
        build_root(config)
    else:
        os.chdir(config["home"])
    drop_rights(config)
    if config.get("check_only"):
        return  # `nst grade` checking that a sandbox can be built
    os.environ.clear()
    os.environ.update(config["env"])
    # The built library comes first; the installed package is not mounted (or, with
    # --no-sandbox, comes after it and is never imported).
    sys.path.insert(0, LIBRARY_MOUNT if config["namespaces"] else config["library"])
    sys.argv = ["nst_utils.grader.worker"]
    runpy.run_module("nst_utils.grader.worker", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
