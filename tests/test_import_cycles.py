"""No import cycles inside tutornb (issue #13: ``store/migrate.py`` <-> ``store/sessions.py`` was one).

A cycle makes the import order matter and hides which module owns a rule; a function-level import
that dodges the cycle at run time is still a cycle here (``grimp`` reads every import in the source,
except those only made for type checking).
"""

from __future__ import annotations

import importlib

import grimp


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("tutornb", exclude_type_checking_imports=True)


def test_every_tutornb_module_imports() -> None:
    graph = _graph()
    assert len(graph.modules) > 40
    for name in sorted(graph.modules):
        importlib.import_module(name)


def test_there_is_no_import_cycle() -> None:
    # Given the import graph of every tutornb module
    graph = _graph()
    cycles = []
    # When each import a -> b is checked for a way back from b to a
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    # Then there is none
    assert cycles == []


def test_the_cycle_check_sees_function_level_imports() -> None:
    # The check would have caught the old cycle: sessions imported migrate inside a function.
    graph = _graph()
    chain = graph.find_shortest_chain(importer="tutornb.store.sessions", imported="tutornb.store.migrate")
    assert chain == ("tutornb.store.sessions", "tutornb.store.migrate")
    assert (
        graph.find_shortest_chain(importer="tutornb.store.migrate", imported="tutornb.store.sessions") is None
    )
