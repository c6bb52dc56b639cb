"""Imports follow the layers of docs/architecture.md ("Layers"): a module imports only from the layers
below its own, never from one above it.

Top to bottom: the transports and entry points (``cli``, ``server``, and the kernel side: ``kernel``
with the chat panel's Python half ``widget``), the instructor's tools, the session service, the two
helpers the service and the CLI share, the store and the tutors, the course format, then the
domain modules at the package root. ``grimp`` reads every import in the source (function-level ones
included, type-checking-only ones excluded), so a lazy import that skips a layer is caught too.
"""

from __future__ import annotations

import grimp

LAYERS = (
    # The three front doors never import one another (checked below): the kernel side and its panel do.
    grimp.Layer("cli", "server", "kernel", "widget", independent=False),
    # The tutornb-hub service runs in a process of its own, beside the hub (issue 21).
    grimp.Layer("hub"),
    grimp.Layer("instructor"),
    grimp.Layer("service"),
    grimp.Layer("export", "queryparams"),
    grimp.Layer("store", "tutors"),
    # The single-user side's client of the tutornb-hub service (solutions, the relay's settings).
    grimp.Layer("hublink"),
    grimp.Layer("course"),
    grimp.Layer(
        "citations",
        "frames",
        "lifecycle",
        "render",
        "paths",
        "atomicfile",
        "version",
        "plaintext",
        "saferead",
        "termsafe",
    ),
    grimp.Layer("errors", "htmlpolicy"),
    grimp.Layer("models"),
    # The citation rule every Message is built with.
    grimp.Layer("citepath"),
)

FRONT_DOORS = (("tutornb.cli",), ("tutornb.server",), ("tutornb.kernel", "tutornb.widget"))


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("tutornb", exclude_type_checking_imports=True)


def _describe(dependencies: set[grimp.PackageDependency]) -> list[str]:
    lines = []
    for dependency in dependencies:
        for route in dependency.routes:
            chain = " -> ".join((*route.heads, *route.middle, *route.tails))
            lines.append(f"{dependency.importer} imports {dependency.imported}: {chain}")
    return sorted(lines)


def test_every_package_module_sits_in_a_layer() -> None:
    # A new top-level module or package must be placed in a layer, or the check would not see it.
    graph = _graph()
    named = {f"tutornb.{tail}" for layer in LAYERS for tail in layer.module_tails}
    top_level = {".".join(module.split(".")[:2]) for module in graph.modules} - {"tutornb"}
    assert sorted(top_level - named) == []


def test_imports_follow_the_layers() -> None:
    illegal = _graph().find_illegal_dependencies_for_layers(layers=LAYERS, containers={"tutornb"})
    assert _describe(illegal) == []


def test_the_front_doors_do_not_import_one_another() -> None:
    graph = _graph()
    crossings = [
        f"{importer} -> {imported}"
        for door in FRONT_DOORS
        for other in FRONT_DOORS
        if door is not other
        for importer in door
        for imported in other
        if graph.chain_exists(importer=importer, imported=imported, as_packages=True)
    ]
    assert crossings == []


def test_the_layer_check_sees_an_upward_import() -> None:
    # The check is not vacuous: the service really imports the store (downward, allowed), and the same
    # pair read upside down is reported.
    graph = _graph()
    assert graph.chain_exists(importer="tutornb.service", imported="tutornb.store", as_packages=True)
    upside_down = (grimp.Layer("store"), grimp.Layer("service"))
    illegal = graph.find_illegal_dependencies_for_layers(layers=upside_down, containers={"tutornb"})
    assert {(d.importer, d.imported) for d in illegal} == {("tutornb.service", "tutornb.store")}
