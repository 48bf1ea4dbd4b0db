"""The SEM engine's layering is one way (CONTRIBUTING.md): model -> objective -> estimate ->
inference -> results.  Every ``from .x import`` inside psychometrics/sem (module level or inside a
function) must point to the same or a lower layer, so there are no import circles."""
import ast
from pathlib import Path

SEM = Path(__file__).resolve().parents[1] / "psychometrics" / "sem"

LAYERS = {
    "syntax": 0, "partable": 0, "sample": 0, "model": 0, "defined": 0, "ordinal": 0,
    "moments": 0, "wishart": 0, "blocks": 0,
    "objective": 1, "ml": 1, "fiml": 1, "dwls": 1, "ls": 1, "_boot_batch": 1,
    "estimate": 2,
    "fitindices": 3, "standardize": 3, "robust": 3, "wlsmv_inference": 3, "modindices": 3,
    "score_test": 3, "bootstrap": 3, "ordinal_reliability": 3, "predict": 3,
    "results": 4, "ordinal_fit": 4.5, "__init__": 5,
}


def _relative_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield node.module.split(".")[0], node.lineno
            else:  # from . import x
                for a in node.names:
                    yield a.name, node.lineno


def test_every_sem_module_has_a_layer():
    names = {p.stem for p in SEM.glob("*.py")}
    assert names <= set(LAYERS), sorted(names - set(LAYERS))


def test_imports_point_down_or_sideways_only():
    bad = []
    for path in SEM.glob("*.py"):
        me = LAYERS[path.stem]
        for target, line in _relative_imports(path):
            if target in LAYERS and LAYERS[target] > me:
                bad.append(f"{path.name}:{line} imports .{target} (layer {LAYERS[target]} > {me})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {p.stem: {t for t, _ in _relative_imports(p) if t in LAYERS} for p in SEM.glob("*.py")}
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in graph.get(n, ()):
            if m == n:
                continue
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [n, m]))
            if m not in state:
                visit(m, stack + [n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])
