"""What every speed figure needs beside it: the CPU model, its core count and the flags that decide transformer
speed on CPU (AVX2, AVX-512, native bf16)."""
import os
import platform


def cpu_description() -> str:
    """The CPU model and the flags that decide transformer speed on CPU (speed figures are meaningless without)."""
    info = {}
    try:
        for line in open("/proc/cpuinfo", encoding="utf8"):
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    shown = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in flags]
    return f"{info.get('model name', platform.machine())}, {os.cpu_count()} cores, flags: {' '.join(shown) or 'none'}"

