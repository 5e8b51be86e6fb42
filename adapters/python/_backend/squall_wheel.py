"""A PEP 517 build backend for squall's Python adapter.

The adapter is two pure-Python modules, so its wheel is a zip file holding
them and a .dist-info directory. This backend writes it with the standard
library alone: no setuptools, no wheel package, nothing to download. So
``pip install ./adapters/python`` works offline and in a fresh venv (build
isolation installs the empty ``requires`` list), as does ``pip install -e``
(PEP 660) and ``pip wheel``.

The project's name, version and modules come from pyproject.toml.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Fixed timestamps make the archives reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _project():
    """Reads [project] and [tool.squall-wheel] of pyproject.toml."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        data = f.read()
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the few keys we need are simple
        return _tiny_toml(data.decode("utf-8"))
    return tomllib.loads(data.decode("utf-8"))


def _tiny_toml(text):
    doc = {}
    table = doc
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            table = doc
            for part in m.group(1).split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        m = re.match(r'^([A-Za-z0-9_-]+)\s*=\s*(.+)$', line)
        if m:
            key, value = m.group(1), m.group(2)
            if value.startswith("["):
                table[key] = re.findall(r'"([^"]*)"', value)
            else:
                table[key] = value.strip('"')
    return doc


def _meta():
    doc = _project()
    p = doc["project"]
    name, version = p["name"], p["version"]
    dist = re.sub(r"[-_.]+", "_", name).lower()
    modules = doc.get("tool", {}).get("squall-wheel", {}).get("py-modules", [])
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    if p.get("description"):
        lines.append("Summary: " + p["description"])
    if p.get("requires-python"):
        lines.append("Requires-Python: " + p["requires-python"])
    lic = p.get("license")
    if isinstance(lic, dict) and lic.get("text"):
        lines.append("License: " + lic["text"])
    for extra, reqs in sorted(p.get("optional-dependencies", {}).items()):
        lines.append("Provides-Extra: " + extra)
        for r in reqs:
            lines.append('Requires-Dist: %s; extra == "%s"' % (r, extra))
    readme = p.get("readme")
    body = ""
    if isinstance(readme, str):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = "\n" + f.read()
    metadata = ("\n".join(lines) + "\n" + body).encode("utf-8")
    return name, version, dist, modules, metadata


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _write_wheel(directory, files):
    """files: [(archive path, bytes)] without the RECORD; returns the file name."""
    name, version, dist, _, metadata = _meta()
    info = "%s-%s.dist-info" % (dist, version)
    wheel = ("Wheel-Version: 1.0\nGenerator: squall_wheel\nRoot-Is-Purelib: true\n"
             "Tag: py3-none-any\n").encode("ascii")
    files = list(files) + [(info + "/METADATA", metadata), (info + "/WHEEL", wheel)]
    record = "\n".join([_record_line(p, d) for p, d in files] + [info + "/RECORD,,"]) + "\n"
    files.append((info + "/RECORD", record.encode("utf-8")))
    filename = "%s-%s-py3-none-any.whl" % (dist, version)
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            zi = zipfile.ZipInfo(path, ZIP_DATE)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return filename


def _module_files():
    _, _, _, modules, _ = _meta()
    out = []
    for m in modules:
        with open(os.path.join(ROOT, m + ".py"), "rb") as f:
            out.append((m + ".py", f.read()))
    return out


# --- PEP 517 ---------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _, version, dist, _, metadata = _meta()
    info = "%s-%s.dist-info" % (dist, version)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "wb") as f:
        f.write(metadata)
    return info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _module_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel whose .pth file puts the source directory on sys.path."""
    _, _, dist, _, _ = _meta()
    pth = (ROOT + "\n").encode("utf-8")
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % dist, pth)])


def build_sdist(sdist_directory, config_settings=None):
    name, version, dist, modules, metadata = _meta()
    base = "%s-%s" % (dist, version)
    filename = base + ".tar.gz"
    names = ["pyproject.toml", "README.md", "_backend/squall_wheel.py"] + [m + ".py" for m in modules]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        def add(arcname, data):
            ti = tarfile.TarInfo(base + "/" + arcname)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 315532800
            tar.addfile(ti, io.BytesIO(data))
        for n in names:
            with open(os.path.join(ROOT, n), "rb") as f:
                add(n, f.read())
        add("PKG-INFO", metadata)
    return filename
