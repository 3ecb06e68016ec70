"""The README's examples are run as written: every ```python block, and the
```c block compiled against the pykernels install's header and library."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(blocks("python")) >= 2 and len(blocks("c")) == 1


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_readme_python_example(index):
    code = blocks("python")[index]
    if "torch" in code:
        pytest.importorskip("torch")
    if "pykernels.jax" in code:
        pytest.importorskip("jax")
    exec(compile(code, f"README.md python block {index}", "exec"), {})


def test_readme_c_example(tmp_path):
    import pykernels

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    package = pathlib.Path(pykernels.__file__).parent
    snippet = blocks("c")[0]
    includes = [l for l in snippet.splitlines() if l.startswith("#include")]
    body = [l for l in snippet.splitlines() if not l.startswith("#include")]
    source = "\n".join(includes + ["#include <stdio.h>", "int main(void) {"] + body +
                       ["  return y[0] == 1 && y[1] == 0 && y[5] == 0 ? 0 : 1;", "}"])
    (tmp_path / "readme.c").write_text(source)
    libs = sorted(package.glob("libkernels.so*"))
    assert libs, f"libkernels.so not found in {package}"
    exe = tmp_path / "readme"
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", str(tmp_path / "readme.c"),
                    f"-I{package / 'include'}", str(libs[0]), f"-Wl,-rpath,{package}",
                    "-o", str(exe)], check=True)
    subprocess.run([str(exe)], check=True)
