"""The docker backend's runtime image, built from this host's files with no registry.

The image is a root filesystem tarball fed to ``docker import``: a static busybox (shell and core
utilities), the host's ``python3`` with its standard library, and the host's ``g++``/``gcc``
toolchain, each with the shared libraries it links (found with ``ldd``). Which host files go in is
defined by :data:`PACKAGES` (Debian packages whose installed files are copied) and
:data:`BUSYBOX_APPLETS`. Build it with ``python -m rewardkit_sandbox.image`` (prints the tag) or
:func:`ensure_image`; it is tagged by a hash of its contents' versions, so rebuilding is skipped when
nothing changed.

Requirements on the host: Debian/Ubuntu (``dpkg``), ``busybox-static``, ``python3``, ``g++``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Iterable

#: Debian packages whose host-installed files make up the image (plus their ldd closure).
PACKAGES = (
    "libc6", "libc6-dev", "linux-libc-dev", "libcrypt-dev",
    "python3-minimal", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib",
    "gcc", "gcc-12", "g++", "g++-12", "cpp", "cpp-12", "libgcc-12-dev", "libstdc++-12-dev", "libstdc++6",
    "libgcc-s1", "binutils", "binutils-x86-64-linux-gnu", "libbinutils", "libctf0", "libctf-nobfd0",
    "libgprofng0", "libsframe1", "libjansson4", "libisl23", "libmpc3", "libmpfr6", "libgmp10", "libzstd1",
    "zlib1g", "libcc1-0", "libgomp1", "libitm1", "libatomic1", "libquadmath0",
    "util-linux",  # ipcrm: the helper removes SysV IPC objects a run left behind
)
#: Paths never copied from those packages (documentation, locales: size without use).
SKIP_PREFIXES = ("/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale",
                 "/usr/share/lintian", "/usr/share/bug", "/usr/share/gdb")
#: Shell tools provided by busybox (linked as /usr/bin/<name> unless a package already gave one).
BUSYBOX_APPLETS = (
    "sh", "ash", "cat", "chmod", "cp", "cut", "date", "diff", "dirname", "basename", "echo", "env", "expr",
    "false", "find", "grep", "head", "id", "kill", "ls", "mkdir", "mv", "printf", "ps", "pwd", "rm", "rmdir",
    "sed", "seq", "sleep", "sort", "tail", "tee", "test", "[", "timeout", "touch", "tr", "true", "uniq",
    "wc", "xargs", "awk", "which", "stat",
)
#: Uid of the container's idle init (``sleep``): neither root nor any slot uid.
INIT_UID = 65534
IMAGE_REPO = "rewardkit-sandbox"
#: Bump when the layout below changes, so old cached images are not reused.
LAYOUT_VERSION = "1"


class ImageBuildError(RuntimeError):
    """The runtime image cannot be built here; the message says what is missing."""


def _dpkg_files(package: str) -> list[str]:
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if proc.returncode != 0:
        return []
    return [line for line in proc.stdout.splitlines() if line.startswith("/")]


def _package_versions(packages: Iterable[str]) -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package}=${Version}\n", *packages],
                          capture_output=True, text=True)
    return proc.stdout


#: The sandbox helper inside the image (the docker backend's per-slot launcher).
HELPER_PATH = "/opt/rewardkit/helper.py"


def _helper_source() -> bytes:
    return (Path(__file__).with_name("_forkserver_main.py")).read_bytes()


def image_tag() -> str:
    """The tag the image gets: a hash of this layout, the helper and the installed package versions."""
    digest = hashlib.sha256((LAYOUT_VERSION + _package_versions(PACKAGES) + str(_busybox())).encode()
                            + _helper_source())
    return f"{IMAGE_REPO}:{digest.hexdigest()[:12]}"


def _busybox() -> str | None:
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(path):
            return path
    return None


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _ldd_closure(elves: list[str]) -> set[str]:
    """Shared libraries (and the symlinks naming them) that ``elves`` load."""
    out: set[str] = set()
    for start in range(0, len(elves), 200):
        proc = subprocess.run(["ldd", *elves[start:start + 200]], capture_output=True, text=True)
        for match in re.finditer(r"(/\S+) \(0x", proc.stdout):
            out.add(match.group(1))
        for match in re.finditer(r"=> (/\S+)", proc.stdout):
            out.add(match.group(1))
    return out


def collect_files() -> set[str]:
    """Every host path the image holds (files, symlinks and the directories they need)."""
    missing = [p for p in ("dpkg", "ldd") if shutil.which(p) is None]
    if missing:
        raise ImageBuildError(f"building the image needs {missing} (a Debian/Ubuntu host)")
    if _busybox() is None:
        raise ImageBuildError("no static busybox: `apt-get install -y busybox-static`")
    paths: set[str] = set()
    for package in PACKAGES:
        for path in _dpkg_files(package):
            if not path.startswith(SKIP_PREFIXES) and os.path.lexists(path) and not os.path.isdir(path):
                paths.add(path)
    if not any(p.endswith("/cc1plus") for p in paths) or "/usr/bin/python3" not in paths:
        raise ImageBuildError("the image needs python3 and g++ installed on this host: "
                              "`apt-get install -y python3 g++`")
    elves = sorted(p for p in paths if os.path.isfile(p) and not os.path.islink(p) and _is_elf(p))
    for lib in _ldd_closure(elves):
        paths.add(lib)
        real = os.path.realpath(lib)
        paths.add(real)
    for extra in ("/etc/ld.so.cache", "/etc/ld.so.conf"):
        if os.path.exists(extra):
            paths.add(extra)
    return paths


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name.lstrip("/"))
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def build_rootfs(out: Path) -> int:
    """Write the image's root filesystem tarball to ``out``; returns the number of host files in it."""
    paths = collect_files()
    busybox = _busybox()
    assert busybox is not None
    with tarfile.open(out, "w") as tar:
        # Merged-/usr layout, like the host: /bin, /lib... are symlinks into /usr.
        for top in ("/usr", "/usr/bin", "/usr/lib", "/usr/lib64", "/usr/sbin", "/etc", "/dev", "/proc",
                    "/sys", "/work", "/run", "/opt", "/opt/rewardkit"):
            _add_dir(tar, top)
        _add_dir(tar, "/tmp", 0o1777)
        for link in ("bin", "lib", "lib64", "sbin"):
            _add_symlink(tar, "/" + link, f"usr/{link}")
        dirs_done: set[str] = {"/usr", "/usr/bin", "/usr/lib", "/usr/lib64", "/usr/sbin", "/etc"}
        by_name = {_canonical(p): p for p in sorted(paths)}
        for canonical, path in sorted(by_name.items()):
            parent = os.path.dirname(canonical)
            missing = []
            while parent not in dirs_done and parent != "/":
                missing.append(parent)
                parent = os.path.dirname(parent)
            for d in reversed(missing):
                _add_dir(tar, d)
                dirs_done.add(d)
            info = tar.gettarinfo(path, arcname=canonical.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isreg():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
        names = set(tar.getnames())
        info = tar.gettarinfo(busybox, arcname="usr/bin/busybox")
        info.uid = info.gid = 0
        with open(busybox, "rb") as fh:
            tar.addfile(info, fh)
        for applet in BUSYBOX_APPLETS:
            if f"usr/bin/{applet}" not in names:
                _add_symlink(tar, f"/usr/bin/{applet}", "busybox")
        _add_text(tar, "/etc/passwd",
                  f"root:x:0:0:root:/root:/bin/sh\nnobody:x:{INIT_UID}:{INIT_UID}:nobody:/:/bin/sh\n")
        helper = _helper_source()
        info = tarfile.TarInfo(HELPER_PATH.lstrip("/"))
        info.size, info.mode = len(helper), 0o644
        tar.addfile(info, io.BytesIO(helper))
        _add_text(tar, "/etc/group", f"root:x:0:\nnogroup:x:{INIT_UID}:\n")
    return len(paths)


def _canonical(path: str) -> str:
    """The /usr path for files a package lists under a merged-/usr symlink (/lib/x -> /usr/lib/x)."""
    for top in ("/bin/", "/lib/", "/lib64/", "/sbin/"):
        if path.startswith(top):
            return "/usr" + path
    return path


def ensure_image(client: Any, *, rebuild: bool = False) -> str:
    """Make sure the runtime image exists in the engine behind ``client`` (a docker SDK client).

    Returns its tag. Builds the tarball and ``docker import``s it only when the tag is missing.
    """
    import docker.errors

    tag = image_tag()
    if not rebuild:
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
    with tempfile.TemporaryDirectory(prefix="rewardkit-image-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        build_rootfs(tarball)
        repo, version = tag.split(":")
        with open(tarball, "rb") as fh:
            client.api.import_image_from_data(fh, repository=repo, tag=version,
                                              changes=[f"USER {INIT_UID}:{INIT_UID}", "WORKDIR /work",
                                                       'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8'])
    client.images.get(tag)  # raises if the import silently failed
    return tag


def main() -> None:  # pragma: no cover - CLI
    import argparse

    parser = argparse.ArgumentParser(description="Build the rewardkit sandbox runtime image (no registry)")
    parser.add_argument("--tar", help="only write the rootfs tarball to this path")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--docker-host",
                        help="engine URL (default: the sandbox's private engine or DOCKER_HOST)")
    args = parser.parse_args()
    if args.tar:
        print(build_rootfs(Path(args.tar)), "host files written to", args.tar)
        return
    from .engine import docker_client

    print(ensure_image(docker_client(args.docker_host), rebuild=args.rebuild))


if __name__ == "__main__":  # pragma: no cover
    main()
