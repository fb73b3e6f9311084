"""BM25 search: the indexed fields, the hit rules, and the on-disk index cache."""

from __future__ import annotations

from webshop_kit import product

from vlgym.envs.webshop.search import SearchEngine, cache_dir, document


def test_document_holds_the_original_fields_with_only_the_first_bullet():
    p = product(title="Acme Shoes", description="Soft.", bullets=("First bullet", "Second bullet"),
                options={"color": ["Red", "blue"], "size": ["8"]})
    assert document(p) == "acme shoes soft. first bullet color: red, blue, and size: 8"


def catalogue(n=80):
    return [product(f"B0{i:08d}", f"Brand{i} {'running shoes' if i % 2 else 'office chair'} model{i}",
                    bullets=(f"unique{i} first", "hidden second bullet zebra"), description="") for i in range(n)]


def test_hits_share_a_term_are_capped_at_fifty_and_ranked(monkeypatch, tmp_path):
    monkeypatch.setenv("VLGYM_CACHE_DIR", str(tmp_path))
    products = catalogue()
    engine = SearchEngine(products)
    hits = engine.search("running shoes")
    assert len(hits) == 40 and all("running" in products[i].title for i in hits)
    assert len(engine.search("brand7 model7 running office chair")) == 50  # every product matches a term
    assert engine.search("brand7 model7")[0] == 7
    assert engine.search("unique3")[0] == 3  # the first bullet is indexed
    assert engine.search("zebra") == ()  # later bullets are not
    assert engine.search("qqqq xyzzy") == () and engine.search("") == ()
    assert engine.search("Running SHOES!") == hits  # the query goes through the same analyser


def test_the_index_is_built_once_and_then_loaded_from_disk(monkeypatch, tmp_path):
    monkeypatch.setenv("VLGYM_CACHE_DIR", str(tmp_path))
    products = catalogue()
    first = SearchEngine(products)
    folders = list(cache_dir().glob("bm25-*"))
    assert len(folders) == 1
    stamp = folders[0].stat().st_mtime_ns
    second = SearchEngine(products)
    assert list(cache_dir().glob("bm25-*")) == folders and folders[0].stat().st_mtime_ns == stamp
    assert second.search("office chair model5") == first.search("office chair model5")
    SearchEngine(products[:-1])  # another catalogue, another index
    assert len(list(cache_dir().glob("bm25-*"))) == 2
