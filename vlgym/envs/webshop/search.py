"""BM25 product search over the fields the original indexes, through bm25s.

One document per product, as the original's index: the lower-cased title, description, *first* bullet point
and option text (``"name: v1, v2, and name2: ..."``). Scoring is Lucene's BM25 with Pyserini's defaults
(k1 = 0.9, b = 0.4), English stopwords and the Snowball English stemmer; the original's Lucene analyser
uses the Porter stemmer and its own stopword list, so rankings can differ slightly. A query returns at most
50 products that share a term with it (ties: catalogue order).

The index is built once per catalogue and kept on disk (``$VLGYM_CACHE_DIR`` or ``~/.cache/vlgym``, under
``webshop/bm25-<hash of the documents>``), written atomically so that parallel workers can share it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from vlgym.envs.webshop.catalog import Product, cache_dir

SEARCH_RETURN_N = 50
BM25_PARAMS = {"method": "lucene", "k1": 0.9, "b": 0.4}
_INDEX_VERSION = "1"


def document(product: Product) -> str:
    """The indexed text of ``product``, as the original builds it."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in product.options.items())
    first_bullet = product.bullet_points[0] if product.bullet_points else ""
    return f"{product.title} {product.description} {first_bullet} {option_text}".lower()


class SearchEngine:
    """``search(query) -> list of product indices`` (best first), with a small cache of recent queries."""

    def __init__(self, products: list[Product], *, cache: bool = True):
        self._stemmer = Stemmer.Stemmer("english")
        documents = [document(p) for p in products]
        digest = hashlib.sha1(_INDEX_VERSION.encode())
        for doc in documents:
            digest.update(doc.encode())
            digest.update(b"\0")
        folder = cache_dir() / f"bm25-{digest.hexdigest()[:20]}"
        self.retriever = self._load(folder) if cache else None
        if self.retriever is None:
            self.retriever = bm25s.BM25(**BM25_PARAMS)
            self.retriever.index(self._tokenize(documents), show_progress=False)
            if cache:
                self._save(folder)
        self._recent: OrderedDict[str, tuple[int, ...]] = OrderedDict()

    def _tokenize(self, texts: list[str]):
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    @staticmethod
    def _load(folder: Path):
        if not (folder / "params.index.json").is_file():
            return None
        try:
            return bm25s.BM25.load(str(folder))
        except (OSError, ValueError, KeyError):  # a damaged cache entry is rebuilt
            return None

    def _save(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        try:
            self.retriever.save(str(staging))
            staging.rename(folder)
        except OSError:  # another process won the race, or the disk is read-only: the index still works
            shutil.rmtree(staging, ignore_errors=True)

    def search(self, query: str, k: int = SEARCH_RETURN_N, *, use_cache: bool = True) -> tuple[int, ...]:
        """Indices of the (at most ``k``) best products that share a term with ``query``."""
        key = f"{k}\0{query}"
        if use_cache and key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, return_ids=False,
                                show_progress=False)[0]
        vocabulary = self.retriever.vocab_dict
        tokens = [t for t in tokens if t in vocabulary]
        hits: tuple[int, ...] = ()
        if tokens:
            scores = self.retriever.get_scores(tokens)
            candidates = np.flatnonzero(scores > 0)
            if len(candidates) > k:
                candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
            order = np.lexsort((candidates, -scores[candidates]))
            hits = tuple(int(i) for i in candidates[order])
        self._recent[key] = hits
        if len(self._recent) > 256:
            self._recent.popitem(last=False)
        return hits


def query_latency_ms(engine: SearchEngine, queries: list[str]) -> dict[str, float]:
    """Median, 95th percentile and maximum milliseconds per query (recent-query cache bypassed)."""
    times = []
    for query in queries:
        start = time.perf_counter()
        engine.search(query, use_cache=False)
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return {"median": times[len(times) // 2], "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1]}
