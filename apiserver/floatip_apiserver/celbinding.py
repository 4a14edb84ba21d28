"""An evaluation of a planned CEL program, its variables bound into celpy's names on demand.

celpy binds an evaluation's variables by cloning the program's base activation and loading
them into the clone's name containers (``set_activation``), and resolves every identifier
through those containers, trying package prefixes: most of the time of an evaluation whose
steps are planned (`celsteps`). cel-go binds them once, in a plain activation, and resolves a
variable by a map lookup; :class:`Evaluation` lets the planned identifier step do the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lark
from celpy.evaluation import Activation, Evaluator


class Evaluation(Evaluator):
    """One evaluation, whose activation is bound only when something asks for it.

    The planned identifier step reads a variable straight from ``direct``: the context, when
    no package is set and no variable's name is one the base activation holds as a package
    (celpy's only other answer for a bound name: ``google`` is one), else nothing. The clone is
    made the first time the interpreter takes a node (``visit``) or an identifier is not in
    ``direct`` (``ident_value``), so the values, errors and texts are the interpreter's; a
    program whose steps are all planned never builds it.
    """

    def __init__(
        self, ast: lark.Tree[Any], base: Activation, context: Mapping[str, Any], direct: bool
    ) -> None:
        super().__init__(ast=ast, activation=base)
        self.context = context
        #: the variables an identifier step may read straight from ``context``
        self.direct: Mapping[str, Any] = context if direct else {}
        self._bound = False

    def bind(self) -> None:
        """Bind the variables as celpy does (once)."""
        if not self._bound:
            self._bound = True
            self.set_activation(self.context)

    def visit(self, tree: lark.Tree[Any]) -> Any:
        self.bind()
        return super().visit(tree)

    def ident_value(self, name: str, root_scope: bool = False) -> Any:
        self.bind()
        return super().ident_value(name, root_scope)
