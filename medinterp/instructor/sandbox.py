"""One sandbox per submission: where a student's code runs while it is graded.

A sandbox is a folder of its own (the only place its code can write: ``/tmp``, its home and
working folder) and, when the grader runs as root on Linux, a set of new namespaces made by
``unshare``: a network namespace (only a loopback interface, so nothing leaves the machine
and the Jupyter kernel still talks to nbgrader), a PID namespace (its processes see and
signal only each other, and all of them die with its first process), and a mount namespace
whose root is a small tree of read-only binds: the system (``/usr``, ``/etc``), the Python
environment, the ``medinterp`` package and the course's data. The class's folder, the
gradebook, the solution notebooks, other submissions and ``/root`` are not in that tree.
The code runs as a user id of its own (one per sandbox running at once, no login, no
files anywhere else) with ``no_new_privs`` and resource limits (:class:`Limits`).

:func:`run` starts a command in a sandbox, captures at most ``Limits.output_bytes`` of its
output, stops it after ``timeout`` seconds, and returns once every process of the sandbox
is gone. :func:`start` returns the running sandbox for a conversation over pipes
(:mod:`medinterp.instructor.remote` uses it).

Without root (an instructor's laptop), the command runs with the limits and in a session
of its own that is killed whole at the end, but in the machine's namespaces: grade a class
as root (a container, a CI machine, a batch job) to get the rest.

The namespaces' first process is this module's ``__main__`` (run as root inside them): it
builds the tree, brings the loopback interface up, starts the command as the sandbox's user
and reaps every process until the command ends; then the namespace, and everything left in
it, is killed by the kernel.

Why this module is long: the grader's side and the namespaces' first process are two halves
of one mechanism (the plan one writes is what the other reads); apart, neither reads alone.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from os import _exit
from pathlib import Path

__all__ = ["Limits", "Sandbox", "exit_reason", "isolated", "run", "start"]

GiB, MiB = 1024**3, 1024**2
# Sandbox user ids: a range no account uses, one id per sandbox running at once, offset by
# the grader's process id so two graders on one machine do not share ids.
_FIRST_UID = 200_000
_SLOTS = 64
_SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_DATA_VARIABLES = ("MEDINTERP_DATA_DIR", "MEDINTERP_CXR_SAMPLES_DIR")
# What a sandboxed command inherits from the grader's environment; everything else (tokens,
# the instructor's paths) stays out.
_KEPT_VARIABLES = (
    *_DATA_VARIABLES, "TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND", "LANG", "LC_ALL", "TZ",
    "OMP_NUM_THREADS", "PYTHONHASHSEED",
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use. The defaults are Binder's 2 GB and a generous CPU budget
    for a whole-series submission on a slow shared machine.

    ``memory_bytes`` holds where the grader may make a memory cgroup (root, cgroup v1 or
    v2): past it the kernel kills a process of the sandbox. ``address_space_bytes`` holds
    everywhere; it is larger because TensorFlow reserves far more address space than it
    uses (a 2 GB address space cannot import it with SciPy).
    """

    memory_bytes: int = 2 * GiB  # resident memory of the whole sandbox (a memory cgroup)
    address_space_bytes: int = 6 * GiB  # virtual memory of each process (RLIMIT_AS)
    cpu_seconds: int = 900  # CPU time of each process (RLIMIT_CPU)
    processes: int = 256  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_bytes: int = 256 * MiB  # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 1024  # RLIMIT_NOFILE
    output_bytes: int = 4 * MiB  # output kept from the command (the rest is dropped)
    tmp_bytes: int = 512 * MiB  # size of its /dev/shm

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


def isolated() -> bool:
    """Whether sandboxes get namespaces and their own user (root on Linux with unshare)."""
    return sys.platform == "linux" and os.geteuid() == 0 and shutil.which("unshare") is not None


_slot_lock = threading.Lock()
_free_slots = list(range(_SLOTS))


def _take_uid() -> int:
    with _slot_lock:
        if not _free_slots:
            raise RuntimeError(f"more than {_SLOTS} sandboxes at once")
        slot = _free_slots.pop(0)
    return _FIRST_UID + (os.getpid() % 1000) * _SLOTS + slot


def _give_uid(uid: int) -> None:
    with _slot_lock:
        _free_slots.append((uid - _FIRST_UID) % _SLOTS)


def _memory_cgroup(name: str, limits: Limits) -> Path | None:
    """A memory cgroup (and process count, on v2) for one sandbox, inside the grader's own
    cgroup; None where the machine does not let us make one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        unified = Path("/sys/fs/cgroup/cgroup.controllers").is_file()
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if unified and controllers == "":
                group = Path("/sys/fs/cgroup") / path.lstrip("/") / name
                group.mkdir()
                (group / "memory.max").write_text(str(limits.memory_bytes))
                (group / "pids.max").write_text(str(limits.processes))
                return group
            if not unified and "memory" in controllers.split(","):
                group = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / name
                group.mkdir()
                (group / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                try:  # no swap beyond the limit either
                    (group / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
                except OSError:
                    pass
                return group
    except (OSError, ValueError):
        return None
    return None


def _remove_cgroup(group: Path) -> None:
    for _ in range(50):  # the kernel lets go of a cgroup shortly after its last process
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def _visible_paths() -> list[str]:
    """Host paths the sandbox sees read-only: the Python environment, the package, data."""
    import medinterp

    paths = [sys.base_prefix, sys.prefix, str(Path(medinterp.__file__).resolve().parent)]
    paths += [os.environ[name] for name in _DATA_VARIABLES if os.environ.get(name)]
    return [str(Path(path).resolve()) for path in paths]


class Sandbox:
    """A running sandboxed command (from :func:`start`). ``process`` is the host-side
    process; :meth:`close` kills everything in the sandbox and removes its folder."""

    def __init__(self, process, folder: Path, uid: int | None, cgroup: Path | None = None):
        self.process, self.folder, self._uid, self._cgroup = process, folder, uid, cgroup

    @property
    def work(self) -> Path:
        """The sandbox's writable folder, seen from the host (``/tmp`` inside)."""
        return self.folder / "work"

    def kill(self) -> None:
        """Kill every process of the sandbox and wait for them (idempotent)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        if self._uid is not None:  # the PID namespace is gone with its first process
            _kill_user(self._uid)

    def close(self, keep: bool = False) -> None:
        """:meth:`kill`, then remove the sandbox's folder unless ``keep``."""
        self.kill()
        if self._uid is not None:
            _give_uid(self._uid)
            self._uid = None
        if self._cgroup is not None:
            _remove_cgroup(self._cgroup)
            self._cgroup = None
        if not keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def _kill_user(uid: int) -> None:
    """Kill any process left with the sandbox's user id (none when namespaces held)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue


def start(argv, files=None, limits: Limits | None = None, env=None, pass_fds=(), hidden=(),
          **popen):  # fmt: skip
    """Start ``argv`` in a new sandbox and return the :class:`Sandbox`.

    Parameters
    ----------
    argv : list of str
        The command; ``{work}`` in it stands for the sandbox's folder as seen inside.
    files : dict, optional
        ``{relative path: bytes or host Path}`` copied into the sandbox's folder first.
    limits : Limits, optional
    env : dict, optional
        Variables added to the sandbox's small environment.
    pass_fds, popen
        Passed to :class:`subprocess.Popen` (pipes for a conversation).
    hidden : list of str, optional
        Host folders inside the visible ones (the grading package) that the sandbox sees
        empty. Without root there is no file system of its own: nothing is hidden.
    """
    limits = limits or Limits()
    folder = Path(tempfile.mkdtemp(prefix="medinterp-sandbox-"))
    work = folder / "work"
    work.mkdir()
    for relative, content in (files or {}).items():
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            shutil.copyfile(content, target)
    environment = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    scripts = str(Path(sys.executable).parent)
    inside = "/tmp" if isolated() else str(work)
    environment.update(
        PATH=f"{scripts}:/usr/local/bin:/usr/bin:/bin", HOME=inside, TMPDIR=inside,
        USER="student", LOGNAME="student", MPLBACKEND="Agg", MPLCONFIGDIR=f"{inside}/.matplotlib",
        PYTHONDONTWRITEBYTECODE="1", **(env or {}),
    )  # fmt: skip
    argv = [part.replace("{work}", inside) for part in argv]
    uid = cgroup = None
    if isolated():
        uid = _take_uid()
        (folder / "root").mkdir()
        os.chown(work, uid, uid)
        for path in work.rglob("*"):
            os.chown(path, uid, uid)
        os.chmod(work, 0o700)
        plan = {
            "root": str(folder / "root"), "work": str(work), "uid": uid,
            "visible": _visible_paths(), "hidden": [str(Path(p).resolve()) for p in hidden],
            "limits": asdict(limits), "argv": list(argv),
            "env": environment, "pass_fds": list(pass_fds),
        }  # fmt: skip
        command = ["unshare", "--net", "--pid", "--mount", "--fork", "--kill-child",
                   sys.executable, "-I", "-m", "medinterp.instructor.sandbox",
                   json.dumps(plan)]  # fmt: skip
        child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        cgroup = _memory_cgroup(f"medinterp-sandbox-{uid}", limits)
        procs = None if cgroup is None else str(cgroup / "cgroup.procs")

        def preexec():  # in the child, before unshare runs: it and all it starts join
            if procs is not None:
                descriptor = os.open(procs, os.O_WRONLY)
                os.write(descriptor, str(os.getpid()).encode())
                os.close(descriptor)
    else:
        command, child_env = list(argv), environment
        popen.setdefault("cwd", work)

        def preexec():
            _set_limits(limits)

    try:
        process = subprocess.Popen(
            command, env=child_env, pass_fds=pass_fds, start_new_session=True,
            preexec_fn=preexec, **popen,
        )  # fmt: skip
    except BaseException:
        if uid is not None:
            _give_uid(uid)
        if cgroup is not None:
            _remove_cgroup(cgroup)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Sandbox(process, folder, uid, cgroup)


def run(argv, files=None, limits: Limits | None = None, timeout: float = 600, env=None,
        collect=(), hidden=()):  # fmt: skip
    """Run ``argv`` in a new sandbox until it ends or ``timeout`` seconds pass.

    Returns ``(returncode, output, collected, reason)``: the exit status (None if killed at
    the timeout), at most ``limits.output_bytes`` of its stdout and stderr, ``{relative
    path: bytes}`` of the ``collect`` files it left (each at most ``limits.file_bytes``;
    read after every process of the sandbox is gone) and why it failed ('' if it did not).
    """
    limits = limits or Limits()
    sandbox = start(argv, files, limits, env, hidden=hidden, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    output, reason = bytearray(), ""
    deadline = time.monotonic() + timeout
    stream = sandbox.process.stdout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = f"stopped after {timeout:g} s (the time limit)"
                break
            ready, _, _ = select.select([stream], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    break
                if len(output) < limits.output_bytes:
                    output += chunk[: limits.output_bytes - len(output)]
        sandbox.kill()
        returncode = None if reason else sandbox.process.returncode
        if returncode and not reason:
            reason = exit_reason(returncode)
        collected = {}
        for relative in collect:
            path = sandbox.work / relative
            if path.is_file() and not path.is_symlink():
                if path.stat().st_size <= limits.file_bytes:
                    collected[relative] = path.read_bytes()
        return returncode, output.decode("utf-8", "replace"), collected, reason
    finally:
        stream.close()
        sandbox.close()


def exit_reason(returncode: int) -> str:
    """Why a command ended, in words (a status, or the signal that killed it)."""
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else ""
        why = " (the memory limit, or killed at the end)" if number == signal.SIGKILL else ""
        return f"killed by signal {number} {name}".rstrip() + why
    return f"exited with status {returncode}"


def _set_limits(limits: Limits) -> None:
    for kind, value in (
        (resource.RLIMIT_AS, limits.address_space_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(kind, (value, value))


# --- inside the namespaces (root, the PID namespace's first process) -------------------------


def _mount(*arguments: str) -> None:
    subprocess.run(["mount", *arguments], check=True)


def _build_root(root: str, work: str, visible: list[str], hidden: list[str],
                tmp_bytes: int) -> None:  # fmt: skip
    """The sandbox's file system: a tmpfs with read-only binds of what it needs, with the
    ``hidden`` folders covered by empty read-only ones."""
    _mount("-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", root)
    for path in (*_SYSTEM_PATHS, *visible):
        if not os.path.lexists(path):
            continue
        target = root + path
        if os.path.islink(path) and path in _SYSTEM_PATHS:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        os.makedirs(target, exist_ok=True)
        _mount("--bind", "-o", "ro", path, target)
    for path in hidden:
        if os.path.isdir(root + path):
            _mount("-t", "tmpfs", "-o", "ro,mode=0555,size=4k,nosuid,nodev", "tmpfs", root + path)
    for name in ("proc", "dev", "tmp"):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    _mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", f"{root}/proc")
    _mount("--rbind", "/dev", f"{root}/dev")
    _mount("-t", "tmpfs", "-o", f"mode=1777,size={tmp_bytes},nosuid,nodev", "tmpfs",
           f"{root}/dev/shm")  # fmt: skip
    _mount("--bind", work, f"{root}/tmp")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def _become(uid: int, limits: Limits) -> None:
    """In the command's process: drop every privilege, then set the limits."""
    import ctypes

    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_pdeathsig = 38, 1
    libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)  # cleared by setuid: set again
    _set_limits(limits)
    os.setsid()


def _init(plan: dict) -> int:
    limits = Limits(**plan["limits"])
    _build_root(plan["root"], plan["work"], plan["visible"], plan["hidden"], limits.tmp_bytes)
    child = os.fork()
    if child == 0:
        try:
            os.chroot(plan["root"])
            os.chdir("/tmp")
            _become(plan["uid"], limits)
            for fd in plan["pass_fds"]:
                os.set_inheritable(fd, True)
            os.execve(plan["argv"][0], plan["argv"], plan["env"])
        except BaseException as error:  # noqa: BLE001 - report, never return into init
            os.write(2, f"sandbox: cannot start {plan['argv'][0]}: {error}\n".encode())
        _exit(127)
    for fd in plan["pass_fds"]:  # the conversation is between the grader and the command
        os.close(fd)
    while True:  # reap every orphan until the command itself ends
        pid, status = os.wait()
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(_init(json.loads(sys.argv[1])))
