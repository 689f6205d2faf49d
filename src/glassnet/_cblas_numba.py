"""A CBLAS matrix product called from inside a compiled (numba) loop, at an address.

:mod:`glassnet.backend` chooses the BLAS routine (:func:`~glassnet.backend.cblas_gemm`,
MKL's or the ``openblas`` extra's ``cblas_?gemm``, a ctypes function). numba can call a
ctypes function passed as an argument, but types it again on every call (24 us on a 2-vCPU
Xeon, as long as a small fused pass itself) and cannot cache a kernel that holds one as a
global. So the kernel takes the routine's address as an integer and :func:`gemm` calls
through it: the call is a few LLVM instructions, the kernel stays in numba's disk cache,
and the address, read from the loaded library in each process, is never stored.

Imported only where a kernel that multiplies is compiled (it imports numba).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["gemm"]

_ROW_MAJOR, _NO_TRANS = 101, 111


@intrinsic
def gemm(typingctx: Any, addr: Any, ta: Any, m: Any, n: Any, k: Any, a: Any, lda: Any,
         b: Any, ldb: Any, c: Any, ldc: Any) -> Any:
    """``c[:m, :n] = op(a) · b`` through the ``cblas_?gemm`` at ``addr`` (row-major,
    ``op`` transposes where ``ta`` is 112, ``b`` as it is, alpha 1, beta 0), in compiled
    code only. ``a``, ``b`` and ``c``: arrays of one float dtype (their data pointers are
    passed); the other arguments: integers (passed as CBLAS's 32-bit ints)."""
    sig = types.void(addr, ta, m, n, k, a, lda, b, ldb, c, ldc)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        tys = signature.args
        i32 = ir.IntType(32)
        real = context.get_value_type(tys[5].dtype)
        vptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32] * 6 + [real, vptr, i32, vptr, i32, real,
                                                           vptr, i32])
        fn = builder.inttoptr(args[0], fnty.as_pointer())

        def i(j: int) -> Any:
            return context.cast(builder, args[j], tys[j], types.int32)

        def ptr(j: int) -> Any:
            data = context.make_array(tys[j])(context, builder, args[j]).data
            return builder.bitcast(data, vptr)

        builder.call(fn, [ir.Constant(i32, _ROW_MAJOR), i(1), ir.Constant(i32, _NO_TRANS),
                          i(2), i(3), i(4), ir.Constant(real, 1.0), ptr(5), i(6), ptr(7),
                          i(8), ir.Constant(real, 0.0), ptr(9), i(10)])
        return context.get_dummy_value()

    return sig, codegen
