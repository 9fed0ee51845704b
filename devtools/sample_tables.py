"""Row generators for the seven IMDb TSVs, built on one shared "universe" of titles and names.

Why a universe: every file must agree on which tconst/nconst exist, which titles are movies,
series or episodes, and what the titles are called, so that joins in the warehouse behave like on the
real dumps. The universe holds only what several files share; everything else is drawn per file and
per chunk from its own seeded generator, so that writing a subset of files (``inputs=``) gives
byte-identical files to a full run, and the ratings of the next delivery (``snapshot``) change
without touching the other files.

Rows are built column-wise with numpy (object arrays of Python strings) and joined with
``"\\t".join`` over ``zip``: about ten times faster than building each row in a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from devtools import sample_vocab as V

NULL = "\\N"
#: Rows of the real dumps (early 2026); ``scale`` multiplies these.
REAL_ROWS: dict[str, int] = {
    "title.basics.tsv.gz": 12_300_000,
    "title.ratings.tsv.gz": 1_640_000,
    "title.crew.tsv.gz": 12_300_000,
    "title.episode.tsv.gz": 9_500_000,
    "title.principals.tsv.gz": 98_000_000,
    "name.basics.tsv.gz": 15_100_000,
    "title.akas.tsv.gz": 55_000_000,
}
CHUNK = 100_000  # titles (or names) per chunk: bounds memory; fixed so output never depends on it
DANGLING_RATE = 0.002  # share of rows whose reference points at a title/name that does not exist

TYPE_NAMES = np.array([t for t, _ in V.TITLE_TYPES], dtype=object)
_TYPE_P = np.array([p for _, p in V.TITLE_TYPES])
TYPE_P = _TYPE_P / _TYPE_P.sum()
T_EPISODE, T_MOVIE = 0, 2
SERIES_TYPES = (4, 6)  # tvSeries, tvMiniSeries
# Chance that a title of each type has a rating, scaled so ratings ≈ 1.64/12.3 of titles.
_RATED = np.array([0.06, 0.2, 0.45, 0.3, 0.5, 0.45, 0.45, 0.3, 0.4, 0.2, 0.1])
RATED_P = _RATED * (1_640_000 / 12_300_000) / float((_RATED * TYPE_P).sum())
# Typical runtime (minutes) per type; 0 = usually none (video games).
RUNTIME_MEAN = np.array([35, 12, 95, 60, 45, 88, 50, 70, 0, 10, 30])

TITLE_PATTERNS = (
    "{adj} {noun}", "The {noun}", "{noun} of the {noun2}", "{given}'s {noun}", "The {adj} {noun}s",
    "{noun}, {adj} {noun2}", 'The "{noun}" Affair', 'The "{adj} {noun}', "{noun} {n}",
)
PATTERN_P = np.array([0.3, 0.2, 0.14, 0.08, 0.1, 0.08, 0.004, 0.004, 0.092])
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
# Titles every sample carries (on movies), whatever its size: the traps the cleaner must survive.
TITLE_TRAPS: tuple[tuple[str, int], ...] = (  # (title, index into FOREIGN_TITLES or -1)
    ('The "Quoted Movie', -1),
    ('The "Great" Escape', -1),
    ("Schindler's Ark", -1),
    ("Love, Actually Not", -1),
    ("L'Été dernier", 5),
    ("東京物語", 0),
    ("Война и мир", 1),
    ("الرسالة", 2),
    ("Ο Θίασος", 3),
    ("शोले", 4),
)
NAME_TRAPS = ("山田 太郎", "Иван Петров", "محمد علي", "Γιώργος Παπαδόπουλος", "अमित बच्चन",
              "Peter O'Brien", 'Dwayne "The Rock" Johnson', 'Lil "Bow Wow', "Amélie Béart")

RATING_STR = np.array([f"{i / 10:.1f}" for i in range(101)], dtype=object)  # index = tenths
_SMALL_INT = np.array([str(i) for i in range(4096)], dtype=object)


def ints(arr: np.ndarray) -> np.ndarray:
    """Integers to an object array of decimal strings (a lookup table when they are small)."""
    if arr.size and arr.min() >= 0 and arr.max() < len(_SMALL_INT):
        return _SMALL_INT[arr]
    return np.array(list(map(str, arr.tolist())), dtype=object)


def ints_or_null(arr: np.ndarray) -> np.ndarray:
    """Like ``ints`` with negative values written as ``\\N``."""
    out = np.full(arr.shape, NULL, dtype=object)
    ok = arr >= 0
    out[ok] = ints(arr[ok])
    return out


def tconsts(nums: np.ndarray) -> np.ndarray:
    # 7 digits below 10,000,000 and 8 above, as IMDb does (tt0000001, tt10000001).
    return np.array([f"tt{n:07d}" for n in nums.tolist()], dtype=object)


def nconsts(nums: np.ndarray) -> np.ndarray:
    return np.array([f"nm{n:07d}" for n in nums.tolist()], dtype=object)


def join_lines(cols: list[np.ndarray]) -> list[str]:
    return list(map("\t".join, zip(*(c.tolist() for c in cols), strict=True)))


def _id_numbers(rng: np.random.Generator, n: int, top: int) -> np.ndarray:
    """n increasing ids spread over 1..~top with random gaps: ~30% reach 8 digits."""
    mean_gap = max(1, top // n)
    return np.cumsum(rng.integers(1, 2 * mean_gap, size=n, endpoint=False, dtype=np.int64))


def _combo_pool(rng: np.random.Generator, items: tuple[str, ...], weights: np.ndarray,
                size: int, max_k: int, sort: bool) -> np.ndarray:
    """A pool of comma lists of 1..max_k distinct items (drawn once, then indexed per row)."""
    p = weights / weights.sum()
    pool = []
    for _ in range(size):
        k = int(rng.integers(1, max_k + 1))
        picked = rng.choice(len(items), size=k, replace=False, p=p)
        names = [items[i] for i in (sorted(picked) if sort else picked)]
        pool.append(",".join(names))
    return np.array(pool, dtype=object)


@dataclass
class Universe:
    """What several files share: title/name ids, title types, years and titles."""

    seed: int
    tnum: np.ndarray  # int64, increasing
    tconst: np.ndarray  # object
    ttype: np.ndarray  # int8 index into TITLE_TYPES
    start_year: np.ndarray  # int32, -1 = null
    runtime: np.ndarray  # int32, -1 = null
    primary: np.ndarray  # object
    original: np.ndarray  # object
    orig_lang: np.ndarray  # int8 index into FOREIGN_TITLES, -1 = English
    genre_pool: np.ndarray  # object: comma lists of genres
    nnum: np.ndarray  # int64, increasing
    nconst: np.ndarray  # object

    @property
    def n_titles(self) -> int:
        return len(self.tnum)

    @property
    def n_names(self) -> int:
        return len(self.nnum)

    def chunks(self, n: int) -> Iterator[tuple[int, int, int]]:
        for no, lo in enumerate(range(0, n, CHUNK)):
            yield no, lo, min(n, lo + CHUNK)

    def rng(self, file_id: int, chunk_no: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, file_id, chunk_no])

    def pick_names(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """k nconsts, skewed (a few people work a lot), some dangling (no such name)."""
        idx = (self.n_names * rng.random(k) ** 1.6).astype(np.int64)
        out = self.nconst[idx]
        dangling = rng.random(k) < DANGLING_RATE
        if dangling.any():
            out[dangling] = nconsts(self.nnum[-1] + 1 + rng.integers(0, 1_000_000, int(dangling.sum())))
        return out

    def pick_titles(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return self.tconst[rng.integers(0, self.n_titles, k)]


def build_universe(seed: int, scale: float) -> Universe:
    rng = np.random.default_rng([seed, 0])
    n = max(60, round(scale * REAL_ROWS["title.basics.tsv.gz"]))
    tnum = _id_numbers(rng, n, 14_300_000)
    ttype = rng.choice(len(TYPE_P), size=n, p=TYPE_P).astype(np.int8)
    forced = rng.choice(n, size=len(TYPE_P) + len(TITLE_TRAPS), replace=False)
    ttype[forced[: len(TYPE_P)]] = np.arange(len(TYPE_P))  # every type appears, even when tiny
    trap_idx = forced[len(TYPE_P):]
    ttype[trap_idx] = T_MOVIE

    year = 2026 - np.floor(rng.exponential(16, n)).astype(np.int32)
    year = np.clip(year, 1894, 2028)
    year[rng.random(n) < 0.04] = -1
    runtime = np.maximum(1, rng.normal(RUNTIME_MEAN[ttype], RUNTIME_MEAN[ttype] * 0.25 + 1)).astype(np.int32)
    runtime[(rng.random(n) < 0.33) | (RUNTIME_MEAN[ttype] == 0)] = -1

    primary, original, orig_lang = _titles(rng, n, ttype)
    for i, (title, lang) in zip(trap_idx.tolist(), TITLE_TRAPS, strict=True):
        primary[i] = original[i] = title
        orig_lang[i] = lang

    genre_pool = _combo_pool(rng, V.GENRES, np.array(V.GENRE_WEIGHTS), 800, 3, sort=True)
    n_names = max(80, round(scale * REAL_ROWS["name.basics.tsv.gz"]))
    nnum = _id_numbers(rng, n_names, 16_000_000)
    return Universe(seed, tnum, tconsts(tnum), ttype, year, runtime, primary, original, orig_lang,
                    genre_pool, nnum, nconsts(nnum))


def _titles(rng: np.random.Generator, n: int, ttype: np.ndarray) -> tuple[np.ndarray, ...]:
    pat = rng.choice(len(PATTERN_P), size=n, p=PATTERN_P / PATTERN_P.sum())
    a = rng.integers(0, len(V.ADJECTIVES), n).tolist()
    b = rng.integers(0, len(V.NOUNS), n).tolist()
    c = rng.integers(0, len(V.NOUNS), n).tolist()
    g = rng.integers(0, len(V.GIVEN_NAMES_EN), n).tolist()
    num = rng.integers(2, 7, n).tolist()
    primary = np.array(
        [TITLE_PATTERNS[p].format(adj=V.ADJECTIVES[x], noun=V.NOUNS[y], noun2=V.NOUNS[z],
                                  given=V.GIVEN_NAMES_EN[w], n=k)
         for p, x, y, z, w, k in zip(pat.tolist(), a, b, c, g, num, strict=True)],
        dtype=object,
    )
    # Episodes are mostly "Episode #1.2" or dated, like the real dump.
    ep = np.flatnonzero(ttype == T_EPISODE)
    style = rng.random(len(ep))
    s, e = rng.integers(1, 9, len(ep)).tolist(), rng.integers(1, 25, len(ep)).tolist()
    d, m, y = rng.integers(1, 29, len(ep)).tolist(), rng.integers(0, 12, len(ep)).tolist(), \
        rng.integers(1990, 2026, len(ep)).tolist()
    for j, i in enumerate(ep.tolist()):
        if style[j] < 0.55:
            primary[i] = f"Episode #{s[j]}.{e[j]}"
        elif style[j] < 0.63:
            primary[i] = f"Episode dated {d[j]} {MONTHS[m[j]]} {y[j]}"
    original = primary.copy()
    orig_lang = np.full(n, -1, dtype=np.int8)
    foreign = np.flatnonzero((ttype != T_EPISODE) & (rng.random(n) < 0.09))
    langs = rng.integers(0, len(V.FOREIGN_TITLES), len(foreign))
    picks = rng.random(len(foreign))
    keep_original = rng.random(len(foreign)) < 0.3  # primaryTitle in its own script too
    for j, i in enumerate(foreign.tolist()):
        titles = V.FOREIGN_TITLES[langs[j]][2]
        original[i] = titles[int(picks[j] * len(titles))]
        orig_lang[i] = langs[j]
        if keep_original[j]:
            primary[i] = original[i]
    return primary, original, orig_lang


def _dangling_titles(u: Universe, rng: np.random.Generator, lo: int, hi: int, first: bool) -> np.ndarray:
    """Indices i in [lo, hi) after which a row for the absent id tnum[i]+1 is written."""
    idx = np.arange(lo, hi)
    nxt = np.append(u.tnum[lo + 1: hi + 1], np.iinfo(np.int64).max)[: hi - lo]
    free = (nxt - u.tnum[lo:hi]) > 1
    pick = free & (rng.random(hi - lo) < DANGLING_RATE)
    if first and pick.sum() < 2:  # even the tiniest sample has dangling references
        cand = np.flatnonzero(free)
        pick[rng.choice(cand, size=min(2, len(cand)), replace=False)] = True
    return idx[pick]


def _rows(u: Universe, real_idx: np.ndarray, dangling_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge real titles and dangling ids in tconst order: (title index used for attributes, tconst)."""
    nums = np.concatenate([u.tnum[real_idx], u.tnum[dangling_idx] + 1])
    src = np.concatenate([real_idx, dangling_idx])
    order = np.argsort(nums, kind="stable")
    tc = u.tconst[src[order]]
    is_dangling = np.concatenate([np.zeros(len(real_idx), bool), np.ones(len(dangling_idx), bool)])[order]
    tc[is_dangling] = tconsts(nums[order][is_dangling])
    return src[order], tc


def _id_lists(u: Universe, rng: np.random.Generator, counts: np.ndarray,
              pick: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
    """Comma lists of ids, ``\\N`` for none; built per list length to stay vectorised."""
    out = np.full(len(counts), NULL, dtype=object)
    for k in range(1, 5):
        rows = counts == k
        if rows.any():
            acc = pick(rng, int(rows.sum()))
            for _ in range(k - 1):
                acc = acc + "," + pick(rng, int(rows.sum()))
            out[rows] = acc
    for i in np.flatnonzero(counts > 4).tolist():  # the rare long lists
        out[i] = ",".join(pick(rng, int(counts[i])).tolist())
    return out


# --- one function per file: (universe, chunk number, lo, hi[, extra]) -> (lines, indices of the
# exact copies of the line before them, which the real name.basics has and defects must not copy)
Chunk = tuple[list[str], set[int]]


def title_basics(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(1, no)
    m = hi - lo
    t = u.ttype[lo:hi]
    adult = np.where(np.isin(t, (1, 2, 3)) & (rng.random(m) < 0.03), "1", "0").astype(object)
    series = np.isin(t, SERIES_TYPES)
    start = u.start_year[lo:hi]
    end = np.where(series & (start > 0) & (rng.random(m) < 0.5),
                   np.minimum(2026, start + rng.geometric(0.25, m)), -1)
    genres = u.genre_pool[(len(u.genre_pool) * rng.random(m) ** 2).astype(np.int64)]
    genres[rng.random(m) < 0.06] = NULL
    cols = [u.tconst[lo:hi], TYPE_NAMES[t], u.primary[lo:hi], u.original[lo:hi], adult,
            ints_or_null(start), ints_or_null(end), ints_or_null(u.runtime[lo:hi]), genres]
    return join_lines(cols), set()


def title_ratings(u: Universe, no: int, lo: int, hi: int, snapshot: int = 0,
                  changed_fraction: float = 0.0) -> Chunk:
    rng = u.rng(2, no)
    rated = lo + np.flatnonzero(rng.random(hi - lo) < RATED_P[u.ttype[lo:hi]])
    _, tc = _rows(u, rated, _dangling_titles(u, rng, lo, hi, no == 0))
    m = len(tc)
    rating = np.clip(np.rint(rng.normal(69, 12.5, m)), 10, 100).astype(np.int64)
    votes = 5 + np.floor(rng.lognormal(3.2, 1.9, m)).astype(np.int64)
    votes = np.minimum(votes, 3_100_000)
    big = rng.random(m) < 0.004
    if no == 0:  # a few blockbusters in every sample
        big[rng.choice(m, size=min(3, m), replace=False)] = True
    votes[big] = rng.integers(100_001, 3_000_000, int(big.sum()))
    # The next deliveries: each applies its own changes on top of the previous one.
    for k in range(1, snapshot + 1):
        crng = np.random.default_rng([u.seed, 7000 + k, no])
        changed = crng.random(m) < changed_fraction
        c = int(changed.sum())
        votes[changed] += crng.integers(1, 50, c) + votes[changed] // 100
        rating[changed] = np.clip(rating[changed] + crng.integers(-2, 3, c), 10, 100)
    return join_lines([tc, RATING_STR[rating], ints(votes)]), set()


def title_crew(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(3, no)
    _, tc = _rows(u, np.arange(lo, hi), _dangling_titles(u, rng, lo, hi, no == 0))
    m = len(tc)
    n_dir = rng.choice(4, size=m, p=[0.08, 0.85, 0.05, 0.02])
    n_wri = rng.choice(5, size=m, p=[0.3, 0.35, 0.2, 0.1, 0.05])
    long_lists = rng.random(m) < 1e-5
    if no == 0:  # the real dump has writer lists of over 1,000 ids
        long_lists[rng.integers(0, m)] = True
    n_wri[long_lists] = rng.integers(1000, 1600, int(long_lists.sum()))
    no_crew = (rng.random(m) < 0.18) & ~long_lists
    n_dir[no_crew] = 0
    n_wri[no_crew] = 0
    return join_lines([tc, _id_lists(u, rng, n_dir, u.pick_names),
                       _id_lists(u, rng, n_wri, u.pick_names)]), set()


def title_episode(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(4, no)
    episodes = lo + np.flatnonzero(u.ttype[lo:hi] == T_EPISODE)
    _, tc = _rows(u, episodes, _dangling_titles(u, rng, lo, hi, no == 0))
    m = len(tc)
    series = np.flatnonzero(np.isin(u.ttype, SERIES_TYPES))
    parent = u.tconst[series[(len(series) * rng.random(m) ** 2).astype(np.int64)]]
    orphan = rng.random(m) < DANGLING_RATE
    if no == 0 and m:
        orphan[rng.integers(0, m)] = True
    parent[orphan] = tconsts(u.tnum[-1] + 1 + rng.integers(0, 1_000_000, int(orphan.sum())))
    season = np.minimum(rng.geometric(0.35, m), 60)
    episode = rng.integers(1, 30, m)
    unknown = rng.random(m) < 0.08
    season[unknown] = -1
    episode[unknown] = -1
    return join_lines([tc, parent, ints_or_null(season), ints_or_null(episode)]), set()


_CAT_NAMES = np.array([c for c, _ in V.CATEGORIES], dtype=object)
_CAT_P = np.array([p for _, p in V.CATEGORIES])
_CAT_P = _CAT_P / _CAT_P.sum()
_CAST = np.isin(_CAT_NAMES, ("actor", "actress", "self", "archive_footage"))
_WRITER, _PRODUCER, _DIRECTOR = 4, 5, 3


def title_principals(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(5, no)
    _, tc = _rows(u, np.arange(lo, hi), _dangling_titles(u, rng, lo, hi, no == 0))
    counts = 1 + rng.poisson(7.7, len(tc))
    counts[rng.random(len(tc)) < 0.08] = 0  # titles without principals
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    ordering = np.arange(total) - np.repeat(starts, counts) + 1
    cat = rng.choice(len(_CAT_P), size=total, p=_CAT_P)
    job = np.full(total, NULL, dtype=object)
    for code, pool, share in ((_WRITER, V.WRITER_JOBS, 0.8), (_PRODUCER, V.PRODUCER_JOBS, 1.0),
                              (_DIRECTOR, ("co-director", "director"), 0.05)):
        rows = np.flatnonzero((cat == code) & (rng.random(total) < share))
        job[rows] = np.array(pool, dtype=object)[rng.integers(0, len(pool), len(rows))]
    chars = np.full(total, NULL, dtype=object)
    cast = np.flatnonzero(_CAST[cat] & (rng.random(total) < 0.9))
    chars[cast] = np.array(V.CHARACTERS, dtype=object)[rng.integers(0, len(V.CHARACTERS), len(cast))]
    cols = [np.repeat(tc, counts), ints(ordering), u.pick_names(rng, total), _CAT_NAMES[cat], job, chars]
    return join_lines(cols), set()


def _names(rng: np.random.Generator, m: int) -> np.ndarray:
    weights = np.array(V.NAME_POOL_WEIGHTS)
    culture = rng.choice(len(V.NAME_POOLS), size=m, p=weights / weights.sum())
    r1, r2, quirk = rng.random(m).tolist(), rng.random(m).tolist(), rng.random(m).tolist()
    nick = rng.integers(0, len(V.NICKNAMES), m).tolist()
    out = []
    for c, a, b, q, k in zip(culture.tolist(), r1, r2, quirk, nick, strict=True):
        given_pool, sur_pool = V.NAME_POOLS[c]
        given, sur = given_pool[int(a * len(given_pool))], sur_pool[int(b * len(sur_pool))]
        if c == 4:  # family name first
            out.append(f"{sur} {given}")
        elif q < 0.003:
            out.append(f'{given} "{V.NICKNAMES[k]}" {sur}')
        elif q < 0.004:
            out.append(f'{given} "{V.NICKNAMES[k]} {sur}')  # quote never closed
        else:
            out.append(f"{given} {sur}")
    return np.array(out, dtype=object)


def name_basics(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(6, no)
    m = hi - lo
    names = _names(rng, m)
    if no == 0:
        names[rng.choice(m, size=min(m, len(NAME_TRAPS)), replace=False)] = NAME_TRAPS[:m]
    birth = np.where(rng.random(m) < 0.35, rng.integers(1850, 2012, m), -1)
    dead = (birth > 0) & (birth < 1965) & (rng.random(m) < 0.6)
    death = np.where(dead, np.minimum(2026, birth + rng.integers(25, 100, m)), -1)
    prof_pool = _combo_pool(np.random.default_rng([u.seed, 6, 999_999]), V.PROFESSIONS,
                            np.linspace(3, 1, len(V.PROFESSIONS)), 300, 3, sort=False)
    prof = prof_pool[(len(prof_pool) * rng.random(m) ** 2).astype(np.int64)]
    prof[rng.random(m) < 0.1] = NULL
    known = _id_lists(u, rng, rng.choice(5, size=m, p=[0.2, 0.3, 0.2, 0.15, 0.15]), u.pick_titles)
    lines = join_lines([u.nconst[lo:hi], names, ints_or_null(birth), ints_or_null(death), prof, known])
    # The real dump repeats some rows exactly: repeat a few, each right after itself.
    repeat = rng.random(m) < 0.002
    if no == 0 and repeat.sum() < 2:
        repeat[rng.choice(m, size=min(2, m), replace=False)] = True
    out: list[str] = []
    copies: set[int] = set()
    prev = 0
    for i in np.flatnonzero(repeat).tolist():
        out.extend(lines[prev: i + 1])
        copies.add(len(out))
        out.append(lines[i])
        prev = i + 1
    out.extend(lines[prev:])
    return out, copies


_REGIONS = np.array(V.AKAS_REGIONS, dtype=object)
_REGION_LANG = np.array([next((i for i, (_, r, _) in enumerate(V.FOREIGN_TITLES) if r == reg), -1)
                         for reg in V.AKAS_REGIONS])
_LANG_CODES = np.array([c for c, _, _ in V.FOREIGN_TITLES] + ["en"], dtype=object)
_FOREIGN_FLAT = np.array([t for _, _, ts in V.FOREIGN_TITLES for t in ts], dtype=object)
_FOREIGN_OFF = np.cumsum([0] + [len(ts) for _, _, ts in V.FOREIGN_TITLES])


def title_akas(u: Universe, no: int, lo: int, hi: int) -> Chunk:
    rng = u.rng(7, no)
    idx = np.arange(lo, hi)
    counts = 1 + rng.poisson(3.5, len(idx))
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    ordering = np.arange(total) - np.repeat(starts, counts) + 1
    t = np.repeat(idx, counts)
    first = ordering == 1
    region_code = rng.integers(0, len(_REGIONS), total)
    region = _REGIONS[region_code]
    region[first] = NULL
    reg_lang = _REGION_LANG[region_code]
    reg_lang[first] = -1
    title = u.primary[t]
    title[first] = u.original[t[first]]
    local = (reg_lang >= 0) & (rng.random(total) < 0.6)
    own = local & (u.orig_lang[t] == reg_lang)
    other = local & ~own
    li = reg_lang[other]
    width = _FOREIGN_OFF[li + 1] - _FOREIGN_OFF[li]
    title[other] = _FOREIGN_FLAT[_FOREIGN_OFF[li] + (rng.random(len(li)) * width).astype(np.int64)]
    title[own] = u.original[t[own]]
    language = np.full(total, NULL, dtype=object)
    with_lang = local & (rng.random(total) < 0.5)
    language[with_lang] = _LANG_CODES[reg_lang[with_lang]]
    english = np.isin(region, ("US", "GB", "CA", "AU")) & (rng.random(total) < 0.1)
    language[english] = "en"
    types = np.array(V.AKAS_TYPES, dtype=object)[rng.integers(0, len(V.AKAS_TYPES), total)]
    types[first] = "original"
    attrs = np.full(total, NULL, dtype=object)
    has_attr = ~first & (rng.random(total) < 0.08)
    attrs[has_attr] = np.array(V.AKAS_ATTRIBUTES, dtype=object)[
        rng.integers(0, len(V.AKAS_ATTRIBUTES), int(has_attr.sum()))]
    is_orig = np.where(first, "1", "0").astype(object)
    return join_lines([u.tconst[t], ints(ordering), title, region, language, types, attrs, is_orig]), set()


#: file name -> (row generator, id in the seeding, iterate over "titles" or "names")
TSV_GENERATORS: dict[str, tuple[Callable[..., Chunk], str]] = {
    "title.basics.tsv.gz": (title_basics, "titles"),
    "title.ratings.tsv.gz": (title_ratings, "titles"),
    "title.crew.tsv.gz": (title_crew, "titles"),
    "title.episode.tsv.gz": (title_episode, "titles"),
    "title.principals.tsv.gz": (title_principals, "titles"),
    "name.basics.tsv.gz": (name_basics, "names"),
    "title.akas.tsv.gz": (title_akas, "titles"),
}
