"""The CPU glassnet runs on, read from ``/proc/cpuinfo`` once: the facts the backend's choice
of matrix multiply (:func:`glassnet.backend.gemm_info`) rests on."""

from __future__ import annotations

# what OpenBLAS's SkylakeX kernels execute (its own test for that core type)
_SKYLAKEX_FLAGS = frozenset(("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))
# OpenBLAS core types whose kernels use AVX-512 (its names, lower case)
AVX512_CORES = frozenset(("skylakex", "cooperlake", "sapphirerapids"))

_info: dict[str, object] = {}


def _cpuinfo() -> tuple[str, frozenset[str]]:
    """(vendor id, feature flags) of the first CPU in ``/proc/cpuinfo``; ("", {}) elsewhere."""
    if "vendor" not in _info:
        vendor, flags = "", frozenset[str]()
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    key = key.strip()
                    if key == "vendor_id" and not vendor:
                        vendor = value.strip()
                    elif key == "flags":
                        flags = frozenset(value.split())
                        break
        except OSError:
            pass
        _info["vendor"], _info["flags"] = vendor, flags
    return _info["vendor"], _info["flags"]  # type: ignore[return-value]


def vendor() -> str:
    """The CPU's vendor id, e.g. ``'GenuineIntel'`` or ``'AuthenticAMD'``.

    Example:
        >>> isinstance(vendor(), str)
        True
    """
    v = _cpuinfo()[0]
    if not v:
        import platform

        v = platform.processor() or "unknown"
    return v


def has_avx512() -> bool:
    """Whether the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use.

    Example:
        >>> has_avx512() in (True, False)
        True
    """
    return _SKYLAKEX_FLAGS <= _cpuinfo()[1]
