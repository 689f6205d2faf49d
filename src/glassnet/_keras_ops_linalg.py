"""Keras 3's linear algebra ops (``keras.ops.linalg``: inverse, determinants, solves,
the Cholesky, QR, singular value, symmetric eigen- and LU decompositions, least squares,
the pseudo-inverse, the rank).

Every op takes a stack of matrices (each leading axis a batch, as ``numpy.linalg``); its
values come from ``numpy.linalg`` (CuPy's on a GPU). Each differentiable op is one node
whose backward, beside its forward, is the standard matrix-calculus result: Jacobi's
formula for determinants, Murray (2016) for the Cholesky factor, Townsend (2016) for the
SVD, Walter & Lehmann (2018) for QR, Golub & Pereyra (1973) for the pseudo-inverse.
tests/test_ops_linalg.py checks each against central differences and the values against
NumPy and Keras. Where an op reads one triangle of a symmetric matrix (``cholesky``,
``eigh``), its gradient is the symmetric one, as PyTorch's: half the sensitivity on each
of the two mirrored entries. Gradients through singular vectors or eigenvectors are
infinite where singular values or eigenvalues repeat (their directions are not defined
there), as in every framework. ``lu_factor`` and ``matrix_rank`` return constants.
``eig`` is left out: a real matrix's eigenvalues may be complex, and glassnet's tensors are
real. Part of :mod:`glassnet.keras_ops`.

Example:
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]])).data
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import _const, _t
from .autograd import Function

if TYPE_CHECKING:
    from ._typing import TensorLike
    from .tensor import Tensor

__all__: list[str] = [
    "inv", "det", "slogdet", "logdet", "solve", "solve_triangular", "cholesky",
    "cholesky_inverse", "eigh", "svd", "qr", "pinv", "lstsq", "lu_factor", "matrix_rank",
]


def _xp(a: Any) -> Any:
    return backend.get_array_module(a)


def _mT(a: Any) -> Any:  # noqa: N802 - the matrix transpose's usual name
    return a.swapaxes(-1, -2)


def _floats(*xs: TensorLike) -> list[Tensor]:
    """The arguments as tensors of one float dtype (integers become floatx, as NumPy's
    linalg gives floats)."""
    ts = [_t(x) for x in xs]
    dt = np.result_type(*(t.data.dtype for t in ts))
    if dt.kind != "f":
        dt = backend.floatx()
    return [t if t.data.dtype == dt else P.cast(t, dt) for t in ts]


def _matrices(name: str, a: Tensor, square: bool = True) -> None:
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        what = "square matrices (..., n, n)" if square else "matrices (..., m, n)"
        raise ValueError(f"{name}: x must be a stack of {what}. Received: shape "
                         f"{tuple(a.shape)}")


def _solve_right(x: Any, a: Any) -> Any:
    """``x · a⁻¹`` (a solve, not an inverse): ``(a⁻ᵀ · xᵀ)ᵀ``."""
    return _mT(_xp(a).linalg.solve(_mT(a), _mT(x)))


def _unpack(flat: Tensor, shapes: list[tuple[int, ...]]) -> list[Tensor]:
    """A node's several outputs from its one packed result (..., Σ sizes): each part sliced
    and reshaped, so that its gradient flows back into the packed one (zeros where a part
    is not used)."""
    lead, out, at = tuple(flat.shape[:-1]), [], 0
    for s in shapes:
        k = math.prod(s)
        out.append(P.reshape(flat[..., at:at + k], (*lead, *s)))
        at += k
    return out


def _parts(g: Any, shapes: list[tuple[int, ...]]) -> list[Any]:
    """:func:`_unpack` on a packed gradient array."""
    lead, out, at = g.shape[:-1], [], 0
    for s in shapes:
        k = math.prod(s)
        out.append(g[..., at:at + k].reshape(*lead, *s))
        at += k
    return out


def _pack(xp: Any, parts: list[Any]) -> Any:
    lead = parts[0].shape[:-2] if parts[0].ndim >= 2 else parts[0].shape[:-1]
    return xp.concatenate([p.reshape(*lead, -1) for p in parts], axis=-1)


# ---------------------------------------------------------------- inverse, determinant
class _Inv(Function):
    def forward(self, a: Any) -> Any:
        self.y = _xp(a).linalg.inv(a)
        return self.y

    def backward(self, gy: Any) -> Any:
        yt = _mT(self.y)  # d(A⁻¹) = −A⁻¹ dA A⁻¹
        return -(yt @ gy @ yt)


def inv(x: TensorLike) -> Tensor:
    """The inverse of each square matrix (keras.ops.inv). Differentiable.

    Example:
        >>> inv(np.eye(2) * 2).data.tolist()
        [[0.5, 0.0], [0.0, 0.5]]
    """
    (a,) = _floats(x)
    _matrices("inv", a)
    return _Inv()(a)


def _adjugate_t(a: Any) -> Any:
    """adj(A)ᵀ, the derivative of det(A), from the SVD: defined for singular A too, where
    det(A)·A⁻ᵀ is not. A = U S Vᵀ gives adj(A) = det(U) det(V) · V diag(∏_{j≠i} s_j) Uᵀ."""
    xp = _xp(a)
    u, s, vt = xp.linalg.svd(a)
    one = xp.ones_like(s[..., :1])
    # ∏_{j≠i} s_j as the products before i times those after it (no division by a zero s_i)
    before = xp.concatenate([one, xp.cumprod(s[..., :-1], axis=-1)], axis=-1)
    after = xp.concatenate([xp.cumprod(s[..., :0:-1], axis=-1)[..., ::-1], one], axis=-1)
    others = before * after
    sign = xp.linalg.det(u) * xp.linalg.det(vt)
    adj = _mT(vt) @ (others[..., :, None] * _mT(u))
    return _mT(adj) * sign[..., None, None]


class _Det(Function):
    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).asarray(_xp(a).linalg.det(a), dtype=a.dtype)

    def backward(self, gy: Any) -> Any:
        return gy[..., None, None] * _adjugate_t(self.a)  # Jacobi's formula


def det(x: TensorLike) -> Tensor:
    """The determinant of each square matrix (keras.ops.det). Differentiable, singular
    matrices included (the gradient is the adjugate's transpose).

    Example:
        >>> round(float(det(np.array([[2.0, 1.0], [1.0, 3.0]])).data), 6)
        5.0
    """
    (a,) = _floats(x)
    _matrices("det", a)
    return _Det()(a)


class _LogAbsDet(Function):
    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).linalg.slogdet(a)[1].astype(a.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        return gy[..., None, None] * _mT(_xp(gy).linalg.inv(self.a))  # d log|det A| = A⁻ᵀ


def slogdet(x: TensorLike) -> tuple[Tensor, Tensor]:
    """(sign, log |det|) of each square matrix (keras.ops.slogdet); the log is
    differentiable, the sign a constant.

    Example:
        >>> s, l = slogdet(np.array([[-2.0, 0.0], [0.0, 1.0]]))
        >>> float(s.data), round(float(l.data), 4)
        (-1.0, 0.6931)
    """
    (a,) = _floats(x)
    _matrices("slogdet", a)
    sign = _xp(a.data).linalg.slogdet(a.data)[0].astype(a.data.dtype, copy=False)
    return _const(sign), _LogAbsDet()(a)


def logdet(x: TensorLike) -> Tensor:
    """log det of each square matrix (keras.ops.logdet, meant for positive definite
    ones): NaN where the determinant is negative and −inf where it is 0, as Keras.
    Differentiable.

    Example:
        >>> round(float(logdet(np.eye(2) * 2).data), 4)
        1.3863
    """
    sign, la = slogdet(x)
    s = sign.data
    return P.add(la, _const(_xp(s).where(s < 0, np.nan, 0).astype(s.dtype)))


# ------------------------------------------------------------------------- solves
class _Solve(Function):
    def __init__(self, vector: bool, triangle: str | None = None) -> None:
        self.vector, self.triangle = vector, triangle

    def _masked(self, a: Any) -> Any:
        xp = _xp(a)
        return (a if self.triangle is None
                else xp.tril(a) if self.triangle == "lower" else xp.triu(a))

    def forward(self, a: Any, b: Any) -> Any:
        self.a = a = self._masked(a)
        x = _xp(a).linalg.solve(a, b[..., None] if self.vector else b)
        self.x = x
        return x[..., 0] if self.vector else x

    def backward(self, gy: Any) -> tuple[Any, Any]:
        g = gy[..., None] if self.vector else gy
        gb = _xp(g).linalg.solve(_mT(self.a), g)  # x = A⁻¹b: b̄ = A⁻ᵀ x̄, Ā = −b̄ xᵀ
        ga = self._masked(-(gb @ _mT(self.x)))
        return ga, (gb[..., 0] if self.vector else gb)


def _solve(name: str, a: TensorLike, b: TensorLike, triangle: str | None) -> Tensor:
    ta, tb = _floats(a, b)
    _matrices(name, ta)
    vector = tb.ndim == ta.ndim - 1  # (..., n) right-hand sides, as Keras
    n = ta.shape[-1]
    if tb.ndim < 1 or (tb.shape[-1] if vector else (tb.shape[-2] if tb.ndim > 1 else -1)) != n:
        raise ValueError(f"{name}: b must be (..., {n}) or (..., {n}, k) for a of shape "
                         f"{tuple(ta.shape)}. Received: b shape {tuple(tb.shape)}")
    return _Solve(vector, triangle)(ta, tb)


def solve(a: TensorLike, b: TensorLike) -> Tensor:
    """x with a·x = b, for square ``a`` (..., n, n) and ``b`` (..., n) or (..., n, k)
    (keras.ops.solve). Differentiable in both.

    Example:
        >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0])).data.tolist()
        [0.5, 0.25]
    """
    return _solve("solve", a, b, None)


def solve_triangular(a: TensorLike, b: TensorLike, lower: bool = False) -> Tensor:
    """:func:`solve` reading only ``a``'s lower (``lower=True``) or upper triangle
    (keras.ops.solve_triangular); the gradient of ``a`` lies in that triangle.

    Example:
        >>> solve_triangular(np.array([[2.0, 9.0], [1.0, 1.0]]), np.array([2.0, 3.0]),
        ...                  lower=True).data.tolist()
        [1.0, 2.0]
    """
    return _solve("solve_triangular", a, b, "lower" if lower else "upper")


# -------------------------------------------------------------------------- Cholesky
class _Cholesky(Function):
    def forward(self, a: Any) -> Any:
        try:
            self.l_ = low = _xp(a).linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise ValueError("cholesky: x must be symmetric positive definite. Received: "
                             "a matrix that is not") from None
        return low

    def backward(self, gy: Any) -> Any:
        # Murray (2016), as PyTorch: Φ = tril(Lᵀ L̄) with its diagonal halved, mirrored into
        # a symmetric matrix, then Ā = L⁻ᵀ Φ L⁻¹
        xp, low = _xp(gy), self.l_
        phi = xp.tril(_mT(low) @ gy)
        phi = 0.5 * (phi + _mT(xp.tril(phi, -1)))
        return _solve_right(xp.linalg.solve(_mT(low), phi), low)


def cholesky(x: TensorLike, upper: bool = False) -> Tensor:
    """The Cholesky factor of each symmetric positive definite matrix, lower triangular
    L with x = L·Lᵀ, or with ``upper`` its transpose (keras.ops.cholesky). Reads the lower
    triangle. Differentiable.

    Example:
        >>> cholesky(np.array([[4.0, 2.0], [2.0, 2.0]])).data.tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    (a,) = _floats(x)
    _matrices("cholesky", a)
    low = _Cholesky()(a)
    return P.swapaxes(low, -1, -2) if upper else low


def cholesky_inverse(x: TensorLike, upper: bool = False) -> Tensor:
    """The inverse of A from its Cholesky factor ``x``: (x·xᵀ)⁻¹ for a lower factor,
    (xᵀ·x)⁻¹ for an upper one (keras.ops.cholesky_inverse; only that triangle of ``x`` is
    read). Differentiable.

    Example:
        >>> cholesky_inverse(np.array([[2.0, 0.0], [1.0, 1.0]])).data.tolist()
        [[0.5, -0.5], [-0.5, 1.0]]
    """
    (f,) = _floats(x)
    _matrices("cholesky_inverse", f)
    mask = _xp(f.data).ones(f.shape[-2:], f.data.dtype)
    f = P.mul(f, _const(_xp(mask).triu(mask) if upper else _xp(mask).tril(mask)))
    ft = P.swapaxes(f, -1, -2)
    return inv(P.matmul(ft, f) if upper else P.matmul(f, ft))


# ------------------------------------------------------------- symmetric eigenproblem
class _Eigh(Function):
    """Packed (w | V): eigenvalues (…, n) then eigenvectors (…, n, n), see :func:`_unpack`."""

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        self.w, self.v = w, v = xp.linalg.eigh(a)
        return _pack(xp, [w[..., None, :], v])

    def backward(self, gy: Any) -> Any:
        xp, w, v = _xp(gy), self.w, self.v
        n = w.shape[-1]
        gw, gv = _parts(gy, [(n,), (n, n)])
        # Ā = V (diag(w̄) + F ∘ skew(Vᵀ V̄)) Vᵀ, F_ij = 1/(w_j − w_i): the symmetric gradient
        m = _mT(v) @ gv
        m = 0.5 * (m - _mT(m))
        diff = w[..., None, :] - w[..., :, None]
        eye = xp.eye(n, dtype=bool)
        inner = xp.where(eye, 0, m / xp.where(eye, 1, diff))
        idx = xp.arange(n)
        inner[..., idx, idx] = gw
        return v @ inner @ _mT(v)


def eigh(x: TensorLike) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix
    (keras.ops.eigh; reads the lower triangle). Differentiable in both.

    Example:
        >>> w, v = eigh(np.array([[2.0, 0.0], [0.0, 1.0]]))
        >>> w.data.tolist()
        [1.0, 2.0]
    """
    (a,) = _floats(x)
    _matrices("eigh", a)
    n = a.shape[-1]
    w, v = _unpack(_Eigh()(a), [(n,), (n, n)])
    return w, v


# ----------------------------------------------------------------------------- SVD
class _Svd(Function):
    """Packed (U | s | Vh) of the reduced SVD (see :func:`_unpack`)."""

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        self.a = a
        self.u, self.s, self.vt = u, s, vt = xp.linalg.svd(a, full_matrices=False)
        return _pack(xp, [u, s[..., None, :], vt])

    def backward(self, gy: Any) -> Any:
        xp, a, u, s, vt = _xp(gy), self.a, self.u, self.s, self.vt
        m, n = a.shape[-2:]
        k = s.shape[-1]
        gu, gs, gvt = _parts(gy, [(m, k), (k,), (k, n)])
        v, gv = _mT(vt), _mT(gvt)
        # Townsend (2016): Ā = U[(F∘[UᵀŪ − ŪᵀU])S + diag(s̄) + S(F∘[VᵀV̄ − V̄ᵀV])]Vᵀ
        # + (I − UUᵀ)ŪS⁻¹Vᵀ + US⁻¹V̄ᵀ(I − VVᵀ), with F_ij = 1/(s_j² − s_i²)
        s2 = s * s
        diff = s2[..., None, :] - s2[..., :, None]
        eye = xp.eye(k, dtype=bool)
        f = xp.where(eye, 0, 1 / xp.where(eye, 1, diff))
        utgu, vtgv = _mT(u) @ gu, _mT(v) @ gv
        j = f * (utgu - _mT(utgu))
        kk = f * (vtgv - _mT(vtgv))
        inner = j * s[..., None, :] + s[..., :, None] * kk
        idx = xp.arange(k)
        inner[..., idx, idx] += gs
        ga = u @ inner @ vt
        if m > k:
            ga = ga + (gu - u @ utgu) / s[..., None, :] @ vt
        if n > k:
            ga = ga + u @ _mT((gv - v @ vtgv) / s[..., None, :])
        return ga


def svd(x: TensorLike, full_matrices: bool = True,
        compute_uv: bool = True) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    """(u, s, vh) with x = u·diag(s)·vh for each matrix, ``s`` descending (keras.ops.svd);
    ``full_matrices=False`` gives the reduced u (…, m, k) and vh (…, k, n), k = min(m, n);
    ``compute_uv=False`` gives ``s`` alone. Differentiable; the gradient of the columns
    a full u or vh adds to the reduced ones is 0 (they are not defined by x), as in
    PyTorch.

    Example:
        >>> svd(np.array([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False).data.tolist()
        [3.0, 2.0]
    """
    (a,) = _floats(x)
    _matrices("svd", a, square=False)
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, vt = _unpack(_Svd()(a), [(m, k), (k,), (k, n)])
    if not compute_uv:
        return s
    if full_matrices and m != n:  # the complement's columns: constants
        xp = _xp(a.data)
        uf, _, vtf = xp.linalg.svd(a.data, full_matrices=True)
        if m > k:
            u = P.concatenate([u, _const(uf[..., :, k:])], axis=-1)
        else:
            vt = P.concatenate([vt, _const(vtf[..., k:, :])], axis=-2)
    return u, s, vt


# ------------------------------------------------------------------------------- QR
class _Qr(Function):
    """Packed (Q | R) of the reduced QR (see :func:`_unpack`)."""

    def __init__(self, complete: bool) -> None:
        self.complete = complete

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        self.a = a
        self.q, self.r = q, r = xp.linalg.qr(a, mode="complete" if self.complete
                                             else "reduced")
        return _pack(xp, [q, r])

    def backward(self, gy: Any) -> Any:
        a, q, r = self.a, self.q, self.r
        m, n = a.shape[-2:]
        if self.complete and m > n:
            raise ValueError("qr: mode='complete' with more rows than columns is not "
                             "differentiable (the extra columns of q are not defined by "
                             "x, as in PyTorch); use mode='reduced'")
        gq, gr = _parts(gy, [tuple(q.shape[-2:]), tuple(r.shape[-2:])])
        if m >= n:
            return _qr_back(q, r, gq, gr)
        # wide: x = [X | Y] with X = Q·R₁ square and R = [R₁ | QᵀY]
        y, gr1, gr2 = a[..., m:], gr[..., :m], gr[..., m:]
        gx = _qr_back(q, r[..., :m], gq + y @ _mT(gr2), gr1)
        return _xp(gy).concatenate([gx, q @ gr2], axis=-1)


def _qr_back(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """QR's gradient for m ≥ n (Walter & Lehmann 2018): M = R R̄ᵀ − Q̄ᵀQ, then
    Ā = (Q̄ + Q·copyltu(M))·R⁻ᵀ, copyltu copying M's lower triangle onto its upper."""
    xp = _xp(q)
    mm = r @ _mT(gr) - _mT(gq) @ q
    sym = xp.tril(mm) + _mT(xp.tril(mm, -1))
    return _solve_right(gq + q @ sym, _mT(r))


def qr(x: TensorLike, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """(q, r) with x = q·r, q's columns orthonormal and r upper triangular
    (keras.ops.qr); ``mode="complete"`` gives a square q. Differentiable (but
    ``"complete"`` with more rows than columns, as in PyTorch).

    Example:
        >>> q, r = qr(np.array([[3.0], [4.0]]))
        >>> np.abs(r.data).round(4).tolist()
        [[5.0]]
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete'. Received: mode={mode!r}")
    (a,) = _floats(x)
    _matrices("qr", a, square=False)
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = _unpack(_Qr(mode == "complete")(a), [(m, k), (k, n)])
    return q, r


# ------------------------------------------------------- pseudo-inverse, least squares
class _Pinv(Function):
    def __init__(self, rcond: float | None) -> None:
        self.rcond = rcond

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        rc = self.rcond
        if rc is None:  # NumPy's, PyTorch's and LAPACK's default cutoff
            rc = max(a.shape[-2:]) * np.finfo(a.dtype).eps
        self.a, self.y = a, xp.linalg.pinv(a, rcond=rc).astype(a.dtype, copy=False)
        return self.y

    def backward(self, gy: Any) -> Any:
        # Golub & Pereyra (1973), X = A⁺: Ā = −Xᵀ X̄ Xᵀ + (I − A X) X̄ᵀ X Xᵀ
        # + Xᵀ X X̄ᵀ (I − X A), valid where the rank does not change
        a, x = self.a, self.y
        xt, gt = _mT(x), _mT(gy)
        return (-(xt @ gy @ xt) + (gt - a @ (x @ gt)) @ (x @ xt)
                + (xt @ x) @ (gt - (gt @ x) @ a))


def pinv(x: TensorLike, rcond: float | None = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each matrix (keras.ops.pinv): singular values
    below ``rcond`` × the largest count as 0 (default max(m, n)·eps, as NumPy and PyTorch).
    Differentiable where the rank stays the same.

    Example:
        >>> pinv(np.array([[2.0, 0.0]])).data.tolist()
        [[0.5], [0.0]]
    """
    (a,) = _floats(x)
    _matrices("pinv", a, square=False)
    return _Pinv(rcond)(a)


def lstsq(a: TensorLike, b: TensorLike, rcond: float | None = None) -> Tensor:
    """The least-squares solution x minimising ‖a·x − b‖ (the smallest one where ``a`` is
    rank deficient), for ``a`` (m, n) and ``b`` (m,) or (m, k) (keras.ops.lstsq);
    ``rcond`` as :func:`pinv`'s. Differentiable in both.

    Example:
        >>> lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0])).data.round(6).tolist()
        [2.0]
    """
    ta, tb = _floats(a, b)
    _matrices("lstsq", ta, square=False)
    if tb.ndim not in (1, 2) or tb.shape[0] != ta.shape[-2] or ta.ndim != 2:
        raise ValueError(f"lstsq: a must be (m, n) and b (m,) or (m, k). Received: a shape "
                         f"{tuple(ta.shape)}, b shape {tuple(tb.shape)}")
    return P.matmul(_Pinv(rcond)(ta), tb)


# ---------------------------------------------------------------- constants: LU, rank
def _lu(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One matrix's LU with partial pivoting, as LAPACK's getrf: L (unit diagonal, below)
    and U in one array, and each step's pivot row (0-based)."""
    lu = a.copy()
    m, n = lu.shape
    k = min(m, n)
    piv = np.empty(k, np.int32)
    for j in range(k):
        p = j + int(np.argmax(np.abs(lu[j:, j])))
        piv[j] = p
        if p != j:
            lu[[j, p]] = lu[[p, j]]
        if lu[j, j] != 0:
            lu[j + 1:, j] /= lu[j, j]
            lu[j + 1:, j + 1:] -= np.outer(lu[j + 1:, j], lu[j, j + 1:])
    return lu, piv


def lu_factor(x: TensorLike) -> tuple[Tensor, Tensor]:
    """(lu, pivots) of each matrix: P·x = L·U with L's unit diagonal left out, both in
    ``lu``, and the row each step swapped in (0-based int32), as LAPACK's getrf and
    keras.ops.lu_factor. Constants (no gradient).

    Example:
        >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> piv.data.tolist()
        [1, 1]
    """
    (a,) = _floats(x)
    _matrices("lu_factor", a, square=False)
    d = backend.asnumpy(a.data)
    flat = d.reshape(-1, *d.shape[-2:])
    parts = [_lu(m) for m in flat]
    lu = np.stack([p[0] for p in parts]).reshape(d.shape)
    piv = np.stack([p[1] for p in parts]).reshape(*d.shape[:-2], -1)
    xp = _xp(a.data)
    return _const(xp.asarray(lu)), _const(xp.asarray(piv))


def matrix_rank(x: TensorLike, tol: float | None = None) -> Tensor:
    """The rank of each matrix (int32; keras.ops.matrix_rank): singular values above
    ``tol`` (absolute; default max(m, n)·eps·σ_max, as NumPy). A constant.

    Example:
        >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])).data)
        1
    """
    (a,) = _floats(x)
    _matrices("matrix_rank", a, square=False)
    xp = _xp(a.data)
    return _const(xp.asarray(xp.linalg.matrix_rank(a.data, tol=tol), dtype=np.int32))
