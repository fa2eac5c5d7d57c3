"""The type stubs and docstrings cover the public API."""

import ast
import pathlib

import vindex

STUB = pathlib.Path(vindex.__file__).with_name("__init__.pyi")


def stub_names():
    tree = ast.parse(STUB.read_text())
    names, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            members[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names, members


def test_stubs_cover_every_public_name_and_method():
    names, members = stub_names()
    assert set(vindex.__all__) <= names
    for cls in ("Index", "IdFilter", "ThreadPool", "IndexInfo", "Capabilities", "TunePoint"):
        public = {n for n in dir(getattr(vindex, cls)) if not n.startswith("_")}
        stubbed = members[cls] | {n for n in public if isinstance(getattr(getattr(vindex, cls), n), property) is False and n in members[cls]}
        assert public <= stubbed | _annotated_attributes(cls), (cls, public - stubbed)


def _annotated_attributes(cls):
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            return {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    return set()


def test_help_reads_well():
    doc = vindex.Index.__doc__
    for word in ("factory", "metric", "GIL", "ValueError", "threads"):
        assert word in doc
    for method in ("train", "add", "search", "remove", "get_vectors", "save"):
        assert getattr(vindex.Index, method).__doc__.strip()
    assert "filter" in vindex.Index.search.__doc__ and "rerank_factor" in vindex.Index.search.__doc__
