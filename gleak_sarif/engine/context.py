"""The scan context: everything one scan keeps beyond a single file, in one object passed down.

A scan creates one `ScanContext` (per process: forked workers inherit it; a pickled context arrives as a
fresh one with the same rules and options, see `__reduce__`). It holds the rule pack and options, the
folder listings, the `calls:` answers and the package models; nothing is kept in module globals, so two
scans never share state and nothing has to be reset between them.

It also answers the evaluator's questions beyond its file (`PackageQuestions` in evaluate.py): one
`FileQuestions` per evaluated file keeps what was learnt about that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from tree_sitter import Node

from gleak_sarif import facts
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.callees import CalleeFile, Callees
from gleak_sarif.engine.evaluate import Env, FileEvaluator
from gleak_sarif.facts.base import Asker
from gleak_sarif.gopackage.folders import Folders, package_clause
from gleak_sarif.gopackage.reads import PackageReads
from gleak_sarif.gopackage.store import ModelFile, PackageModels
from gleak_sarif.rules.compiled import CNode, CompiledRule, RulePack


class ScanContext:
    def __init__(self, pack: RulePack, options: ScanOptions) -> None:
        self.pack = pack
        self.options = options
        self.folders = Folders()
        self.callees = Callees(pack, self.folders, self.file_questions)
        self.models = PackageModels(self.folders)
        self.reads: PackageReads | None = None  # set by record_reads()

    def record_reads(self) -> None:
        """Note what the package rules read of each folder (gopackage/reads.py), for the scan cache."""
        self.reads = self.models.reads = self.callees.reads = PackageReads()

    def __reduce__(self) -> tuple[type[ScanContext], tuple[RulePack, ScanOptions]]:
        # what a context caches (trees, evaluators) does not pickle and is rebuilt on demand: another
        # process gets the same rules and options and fresh caches
        return ScanContext, (self.pack, self.options)

    def file_questions(self) -> FileQuestions:
        return FileQuestions(self)

    def package_may_match(self, rule: CompiledRule, path: str, source: bytes) -> bool:
        """A rule that needs a callee matching R (`calls:`) skips files whose package holds no file with R's
        tokens (GL207 looks at every call: most packages have no function returning a fed channel); one
        whose `model:` facts need tokens in the package (a `go` statement) skips packages without them."""
        if not all(all(t in source for t in tokens) or self.callees.package_may_hold(path, tokens)
                   for tokens in rule.callee_tokens):
            return False
        if rule.package_tokens:
            package = package_clause(source)
            return all(self.models.may_hold(path, package, source, tokens) for tokens in rule.package_tokens)
        return True


class FileQuestions:
    """The scan context's answers for one evaluated file (implements evaluate.PackageQuestions)."""

    def __init__(self, context: ScanContext) -> None:
        self.context = context
        self._callees = CalleeFile()
        self._model: ModelFile | None = None

    def calls(self, evaluator: FileEvaluator, rule: CNode, node: Node) -> bool:
        return self.context.callees.matches(evaluator, self._callees, rule, node)

    def model(self, evaluator: FileEvaluator, query: facts.ModelQuery, node: Node, env: Env) -> Iterator[Env]:
        if self._model is None:
            self._model = ModelFile(os.path.abspath(evaluator.path), evaluator.package, evaluator.source,
                                    evaluator.root, evaluator.imports)
        return facts.evaluate(query, Asker(evaluator, node, self.context.models, self._model), env)
