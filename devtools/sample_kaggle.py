"""Rows of a Kaggle "IMDB 5000" ``movie_metadata.csv`` that joins onto the generated title.basics.

The real file (5,043 rows) has quirks the cleaner has to handle and this reproduces them: titles
ending in U+00A0, " Black and White" with a leading space, pipe lists, budgets in local currency
(a few above 2^31, the largest a Korean film in won), missing years/ratings/budgets, and repeated
IMDb ids - some exact copies, some that differ in num_voted_users.
"""

from __future__ import annotations

import numpy as np

from devtools import sample_vocab as V
from devtools.sample_tables import T_MOVIE, TITLE_TRAPS, Universe, tconsts

REAL_ROWS = 5_043
REAL_REPEATED, REAL_EXACT = 124, 45
BIG_BUDGETS = (  # (budget, country, language): above 2^31, in local currency
    (12_215_500_000, "South Korea", "Korean"),
    (4_200_000_000, "South Korea", "Korean"),
    (2_500_000_000, "Hungary", "Hungarian"),
    (2_400_000_000, "Japan", "Japanese"),
)
NBSP = "\u00a0"


def _names(rng: np.random.Generator, k: int) -> np.ndarray:
    pools = V.NAME_POOLS[:4]  # the Kaggle file has Latin-script names
    out = []
    for c, a, b in zip(rng.integers(0, len(pools), k).tolist(), rng.random(k).tolist(),
                       rng.random(k).tolist(), strict=True):
        given, sur = pools[c]
        out.append(f"{given[int(a * len(given))]} {sur[int(b * len(sur))]}")
    return np.array(out, dtype=object)


def _opt(value: object, missing: bool) -> str:
    return "" if missing else str(value)


def kaggle_rows(u: Universe) -> tuple[list[list[str]], list[dict[str, object]]]:
    """The data rows (header excluded) and, for each repeated id, the later copy's record index.

    Returned records: ``{"index": i, "kind": "exact_copy" | "conflicting_copy", "of": j}`` with
    0-based data-row indices (line number = index + 2).
    """
    rng = np.random.default_rng([u.seed, 8])
    movies = np.flatnonzero(u.ttype == T_MOVIE)
    total = min(REAL_ROWS, max(40, round(0.8 * len(movies))))
    n_rep = max(6, round(total * REAL_REPEATED / REAL_ROWS))
    n_exact = max(3, round(n_rep * REAL_EXACT / REAL_REPEATED))
    unique = total - n_rep
    n_in = min(len(movies), round(unique * 0.85))
    # The trap titles (quotes, commas, scripts) are movies: make sure they reach the CSV too.
    traps = movies[np.isin(u.primary[movies], [t for t, _ in TITLE_TRAPS])]
    rest = rng.permutation(np.setdiff1d(movies, traps))[: max(0, n_in - len(traps))]
    in_idx = rng.permutation(np.concatenate([traps, rest])[:n_in])
    # Kaggle-only ids: free numbers next to existing ones, so they look like real ids.
    gaps = np.flatnonzero(np.diff(u.tnum) > 1)
    if len(gaps) >= unique - n_in:
        only = u.tnum[rng.choice(gaps, size=unique - n_in, replace=False)] + 1
    else:  # dense numbering (scale 1 has no gaps to spare): the numbers after the last id
        only = u.tnum[-1] + 1 + np.arange(unique - n_in)
    ids = np.concatenate([u.tconst[in_idx], tconsts(only)])
    title_src = np.concatenate([in_idx, rng.choice(movies, size=len(only))])
    order = rng.permutation(len(ids))
    ids, title_src = ids[order], title_src[order]

    rows = _rows(rng, u, ids, title_src)
    for k, (budget, country, language) in enumerate(BIG_BUDGETS[: max(1, round(total * 4 / REAL_ROWS))]):
        row = rows[int(rng.integers(0, len(rows)))] if k else rows[len(rows) // 3]
        row[22], row[20], row[19] = str(budget), country, language
    return _with_repeats(rng, rows, n_exact, n_rep - n_exact)


def _rows(rng: np.random.Generator, u: Universe, ids: np.ndarray, src: np.ndarray) -> list[list[str]]:
    """All rows at once: every column is drawn as one array (a draw per row would take seconds)."""
    n = len(ids)
    r = rng.random((n, 12))
    # Even a tiny file has each gap: black and white, no gross, no content rating, budget, year.
    for k, (col, value) in enumerate(((1, 0.97), (4, 0.0), (6, 0.0), (7, 0.0), (8, 0.0)), start=1):
        r[n - k, col] = value
    director, a1, a2, a3 = (_names(rng, n) for _ in range(4))
    year = u.start_year[src]
    runtime = np.where(u.runtime[src] > 0, u.runtime[src],
                       np.clip(rng.normal(107, 25, n), 7, 511).astype(np.int64))
    country = rng.choice(len(V.KAGGLE_COUNTRIES), size=n, p=_COUNTRY_P)
    rating = rng.choice(len(V.KAGGLE_CONTENT_RATINGS), size=n, p=_RATING_P)
    likes = np.minimum(rng.lognormal([5, 6, 7.5, 6.5, 7], 1.5, (n, 5)), 640_000).astype(np.int64)
    genres = u.genre_pool[rng.integers(0, len(u.genre_pool), n)]
    n_kw = rng.integers(1, 6, n)
    kw = rng.integers(0, len(V.KAGGLE_KEYWORDS), (n, 5))
    critics = np.clip(rng.lognormal(4.5, 1.0, n), 1, 813).astype(np.int64)
    gross = np.minimum(rng.lognormal(17, 1.6, n), 760_505_847).astype(np.int64)
    votes = 5 + np.minimum(rng.lognormal(10.5, 1.6, n), 1_689_764).astype(np.int64)
    faces = np.minimum(rng.geometric(0.5, n) - 1, 43)
    users = np.clip(rng.lognormal(5, 1.2, n), 1, 5060).astype(np.int64)
    budget = np.clip(rng.lognormal(16.8, 1.3, n), 218, 300_000_000).astype(np.int64)
    score = np.clip(rng.normal(6.4, 1.1, n), 1.6, 9.5)
    rows = []
    for i in range(n):
        ri, lk = r[i], likes[i]
        c_name, c_lang, _ = V.KAGGLE_COUNTRIES[country[i]]
        keywords = "|".join(dict.fromkeys(V.KAGGLE_KEYWORDS[k] for k in kw[i, : n_kw[i]]))
        rows.append([
            "Color" if ri[1] < 0.955 else (" Black and White" if ri[1] < 0.995 else ""),
            "" if ri[2] < 0.02 else director[i],
            str(critics[i]),
            str(runtime[i]),
            str(lk[0] if ri[3] > 0.2 else 0),
            str(lk[1]),
            a2[i],
            str(lk[2]),
            _opt(gross[i], ri[4] < 0.17),
            genres[i].replace(",", "|"),
            a1[i],
            str(u.primary[src[i]]) + (NBSP if ri[0] < 0.98 else ""),
            str(votes[i]),
            str(lk[0] + lk[1] + lk[2]),
            a3[i],
            str(faces[i]),
            "" if ri[5] < 0.03 else keywords,
            f"http://www.imdb.com/title/{ids[i]}/?ref_=fn_tt_tt_1",
            str(users[i]),
            c_lang,
            c_name,
            "" if ri[6] < 0.06 else V.KAGGLE_CONTENT_RATINGS[rating[i]][0],
            _opt(budget[i], ri[7] < 0.1),
            _opt(year[i], year[i] < 0 or ri[8] < 0.02),
            str(lk[3]),
            f"{score[i]:.1f}",
            "" if ri[9] < 0.06 else V.KAGGLE_ASPECT_RATIOS[int(ri[10] * len(V.KAGGLE_ASPECT_RATIOS))],
            str(lk[4] if ri[11] > 0.4 else 0),
        ])
    return rows


_COUNTRY_P = np.array([p for _, _, p in V.KAGGLE_COUNTRIES])
_COUNTRY_P = _COUNTRY_P / _COUNTRY_P.sum()
_RATING_P = np.array([p for _, p in V.KAGGLE_CONTENT_RATINGS])
_RATING_P = _RATING_P / _RATING_P.sum()
VOTES = 12  # column index of num_voted_users


def _with_repeats(rng: np.random.Generator, rows: list[list[str]], n_exact: int,
                  n_conflict: int) -> tuple[list[list[str]], list[dict[str, object]]]:
    """Add the repeated ids: each copy lands somewhere after its original."""
    n = len(rows)
    sources = rng.choice(n, size=n_exact + n_conflict, replace=False).tolist()
    keyed: list[tuple[float, int, list[str], str, int]] = [
        (float(i), i, r, "", -1) for i, r in enumerate(rows)]
    for k, s in enumerate(sources):
        copy = list(rows[s])
        kind = "exact_copy"
        if k >= n_exact:
            kind = "conflicting_copy"
            copy[VOTES] = str(int(copy[VOTES]) + int(rng.integers(1, 5000)))
        keyed.append((float(rng.uniform(s + 0.5, n)), n + k, copy, kind, s))
    keyed.sort(key=lambda x: (x[0], x[1]))
    position = {orig: pos for pos, (_, orig, _, _, _) in enumerate(keyed)}
    repeats = [{"index": pos, "kind": kind, "of": position[src]}
               for pos, (_, _, _, kind, src) in enumerate(keyed) if kind]
    return [r for _, _, r, _, _ in keyed], repeats
