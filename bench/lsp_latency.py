#!/usr/bin/env python3
"""LSP latency with a real client (pygls's LanguageClient, the one pytest-lsp builds on).
Benchmark, not a test: bench/lsp_latency.sh builds, generates the inputs and runs this.

    python bench/lsp_latency.py --rbk target/release/rbk --dir bench/work/lsp [--iterations 200]
        [--yaml-server 'node .../yaml-language-server --stdio' --yaml-schema playbook.json]

For each case, one server process, one open document, and three measurements, each taken
`--iterations` times after `--warmup` unmeasured rounds, one request in flight at a time:

  (a) diagnostics: a one-character edit (a character added to, or removed from, a title or a
      task name near the middle of the file), sent as didChange with just the changed range
      when the server asks for incremental sync (as VS Code does; rbk and yaml-language-server
      both do) and with the whole text otherwise, until the publishDiagnostics for that
      version arrives. rbk publishes each
      version's diagnostics; the YAML server publishes without a version, so there it is the
      next publishDiagnostics for the document.
  (b) completion: a textDocument/completion request right after a freshly typed `pg.` on a
      new line of a step (YAML: an empty key line in a task), until its reply. The typed text
      is sent (and its diagnostics awaited) once, before the timed requests.
  (c) hover: a textDocument/hover request on an action call (`pg.terminate`; YAML: the
      `changed_when` key of a task), until its reply.

Each time runs from just before the client hands the message to pygls (which encodes it and
writes it to the server's stdin) to the moment the reply or notification has been decoded by
the client, so it includes the client's JSON work on both sides. Cases:

  rbk, large   runbooks.rbk, ~5,000 lines of generated runbooks (bench/gen_lsp_file.py)
  rbk, seed    seed.rbk, examples/db_pool_exhaustion.rbk (57 lines): the same server and
               client on a small file, so the fixed cost of a round trip shows
  yaml-ls      playbook.yml, the same runbooks as Ansible plays, in yaml-language-server with
               ansible-lint's playbook JSON schema (validation, completion and hover from it)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import shlex
import sys
import time

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def loadavg() -> str:
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def position_of(text: str, at: int) -> types.Position:
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return types.Position(line=line, character=len(text[start:at].encode("utf-16-le")) // 2)


def nearest_middle(text: str, needle: str) -> int:
    """The index of the occurrence of `needle` closest to the middle of `text`."""
    middle, best, at = len(text) // 2, None, text.find(needle)
    while at != -1:
        if best is None or abs(at - middle) < abs(best - middle):
            best = at
        at = text.find(needle, at + 1)
    if best is None:
        sys.exit(f"benchmark input has no {needle!r}")
    return best


class Case:
    """One server, one document, and where to edit, complete and hover in it."""

    def __init__(self, name, command, path, language, edit_after, typed_after, typed,
                 hover_on, hover_offset, expect_label, expect_hover, settings=None):
        self.name, self.command, self.path, self.language = name, command, path, language
        self.text = path.read_text()
        # (a) one character inserted after `edit_after` (nearest the middle) and removed again.
        at = nearest_middle(self.text, edit_after) + len(edit_after)
        self.edited = self.text[:at] + "x" + self.text[at:]
        self.edit_at = position_of(self.text, at)
        # (b) `typed` on a new line after the line holding `typed_after`.
        at = nearest_middle(self.text, typed_after)
        at = self.text.index("\n", at) + 1
        self.typed = self.text[:at] + typed + "\n" + self.text[at:]
        self.complete_at = position_of(self.typed, at + len(typed))
        # (c) inside `hover_on`.
        self.hover_at = position_of(self.text, nearest_middle(self.text, hover_on) + hover_offset)
        self.expect_label, self.expect_hover = expect_label, expect_hover
        self.settings = settings or {}


class Client:
    def __init__(self, case: Case):
        self.case = case
        self.lsp = LanguageClient("rbk-lsp-latency", "1")
        self.published: list[tuple[int | None, int]] = []  # (version, arrival ns)
        self.last_count = 0  # diagnostics in the latest publishDiagnostics
        self.arrived = asyncio.Event()
        self.uri = case.path.resolve().as_uri()
        self.version = 1

        @self.lsp.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams):
            now = time.perf_counter_ns()
            if params.uri == self.uri:
                self.published.append((params.version, now))
                self.last_count = len(params.diagnostics)
                self.arrived.set()

        @self.lsp.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams):
            return [self.case.settings.get(item.section or "", None) for item in params.items]

        @self.lsp.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params):
            return None

        @self.lsp.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress(params):
            return None

        @self.lsp.feature(types.WINDOW_LOG_MESSAGE)
        def log(params):
            pass

    async def start(self):
        command = shlex.split(self.case.command)
        await self.lsp.start_io(*command)
        root = self.case.path.resolve().parent.as_uri()
        initialized = await self.lsp.initialize_async(types.InitializeParams(
            process_id=os.getpid(),
            root_uri=root,
            workspace_folders=[types.WorkspaceFolder(uri=root, name="bench")],
            capabilities=types.ClientCapabilities(
                workspace=types.WorkspaceClientCapabilities(configuration=True),
                text_document=types.TextDocumentClientCapabilities(
                    publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                        version_support=True),
                    hover=types.HoverClientCapabilities(
                        content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]),
                    completion=types.CompletionClientCapabilities(
                        completion_item=types.ClientCompletionItemOptions(
                            documentation_format=[types.MarkupKind.Markdown])),
                ),
            ),
        ))
        sync = initialized.capabilities.text_document_sync
        sync = getattr(sync, "change", sync)
        # An editor sends only the edited range to a server that accepts it (VS Code does).
        self.incremental = sync == types.TextDocumentSyncKind.Incremental
        self.lsp.initialized(types.InitializedParams())
        if self.case.settings:
            self.lsp.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=self.case.settings))
        seen = len(self.published)
        self.lsp.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=self.uri, language_id=self.case.language, version=1, text=self.case.text)))
        await self.diagnostics(1, seen)

    async def diagnostics(self, version: int, seen: int) -> int:
        """Waits for the publishDiagnostics of `version` (or, from a server that sends no
        version, the first one after the `seen` first); returns its arrival time."""
        while True:
            for v, at in self.published[seen:]:
                if v == version or v is None:
                    return at
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=60)

    async def change(self, text: str, edit=None) -> int:
        """Sends `text` as the next version, as the range `edit` (start, end, new text) when the
        server takes ranges; returns nanoseconds until its diagnostics."""
        self.version += 1
        seen = len(self.published)
        if edit is not None and self.incremental:
            start, end, new_text = edit
            change = types.TextDocumentContentChangePartial(
                range=types.Range(start=start, end=end), text=new_text)
        else:
            change = types.TextDocumentContentChangeWholeDocument(text=text)
        began = time.perf_counter_ns()
        self.lsp.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[change]))
        return await self.diagnostics(self.version, seen) - began

    async def complete(self) -> tuple[int, list[str]]:
        start = time.perf_counter_ns()
        result = await asyncio.wait_for(self.lsp.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=self.case.complete_at)), timeout=60)
        elapsed = time.perf_counter_ns() - start
        items = result.items if isinstance(result, types.CompletionList) else (result or [])
        return elapsed, [item.label for item in items]

    async def hover(self) -> tuple[int, str]:
        start = time.perf_counter_ns()
        result = await asyncio.wait_for(self.lsp.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=self.case.hover_at)), timeout=60)
        elapsed = time.perf_counter_ns() - start
        contents = getattr(result, "contents", None)
        return elapsed, getattr(contents, "value", str(contents))

    async def stop(self):
        await self.lsp.shutdown_async(None)
        self.lsp.exit(None)
        await self.lsp.stop()


def summary(samples_ns: list[int]) -> str:
    ms = sorted(s / 1e6 for s in samples_ns)
    rank = lambda p: ms[max(0, -(-len(ms) * p // 100) - 1)]  # nearest rank  # noqa: E731
    return f"p50 {rank(50):8.2f}  p99 {rank(99):8.2f}  max {ms[-1]:8.2f}  (n={len(ms)})"


async def measure(case: Case, iterations: int, warmup: int) -> dict[str, list[int]]:
    client = Client(case)
    await client.start()
    times: dict[str, list[int]] = {"diagnostics": [], "completion": [], "hover": []}
    print(f"  diagnostics on the file as generated: {client.last_count}")
    print(f"  edits sent as: {'the changed range (incremental sync)' if client.incremental else 'the whole text (full sync)'}")
    at = case.edit_at
    after = types.Position(line=at.line, character=at.character + 1)
    try:
        # (a) edits alternate between the edited and the original text; it ends on the original.
        for i in range(2 * ((warmup + iterations + 1) // 2)):
            if i % 2 == 0:
                elapsed = await client.change(case.edited, (at, at, "x"))
            else:
                elapsed = await client.change(case.text, (at, after, ""))
            if i >= warmup:
                times["diagnostics"].append(elapsed)
        # (c) hover on the original text.
        for i in range(warmup + iterations):
            elapsed, value = await client.hover()
            if case.expect_hover not in value:
                sys.exit(f"{case.name}: hover has no {case.expect_hover!r}: {value!r}")
            if i >= warmup:
                times["hover"].append(elapsed)
        # (b) completion after the typed text.
        await client.change(case.typed)
        for i in range(warmup + iterations):
            elapsed, labels = await client.complete()
            if case.expect_label not in labels:
                sys.exit(f"{case.name}: completion has no {case.expect_label!r}: {labels[:20]}")
            if i >= warmup:
                times["completion"].append(elapsed)
        times["diagnostics"] = times["diagnostics"][:iterations]
    finally:
        await client.stop()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rbk", required=True, help="the rbk binary (a release build)")
    parser.add_argument("--dir", required=True, type=pathlib.Path,
                        help="bench/gen_lsp_file.py's output directory")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--yaml-server", help="command starting yaml-language-server on stdio")
    parser.add_argument("--yaml-schema", type=pathlib.Path,
                        help="ansible-lint's playbook.json schema, for the yaml-ls case")
    args = parser.parse_args()

    rbk_case = dict(command=f"{shlex.quote(args.rbk)} lsp", language="rbk", edit_after='title "',
                    typed_after="    let ", typed="    pg.", hover_on="pg.terminate(",
                    hover_offset=len("pg.term"), expect_label="terminate",
                    expect_hover="destructive")
    cases = [
        Case("rbk, large", path=args.dir / "runbooks.rbk", **rbk_case),
        Case("rbk, seed", path=args.dir / "seed.rbk", **rbk_case),
    ]
    if args.yaml_server:
        schema = args.yaml_schema.resolve().as_uri()
        cases.append(Case(
            "yaml-ls", command=args.yaml_server, path=args.dir / "playbook.yml",
            language="yaml", edit_after="    - name: ", typed_after="      changed_when: ",
            typed="      ", hover_on="      changed_when: ", hover_offset=len("      chan"),
            expect_label="when", expect_hover="changed_when",
            settings={"yaml": {"schemas": {schema: "playbook.yml"}, "validate": True,
                               "hover": True, "completion": True,
                               "schemaStore": {"enable": False}}}))

    for case in cases:
        lines = case.text.count("\n")
        print(f"== {case.name}: {case.path.name}, {lines} lines, {len(case.text)} bytes; "
              f"server: {case.command}")
        before = loadavg()
        times = await measure(case, args.iterations, args.warmup)
        for what in ("diagnostics", "completion", "hover"):
            print(f"  {what:12} {summary(times[what])}  ms")
        print(f"  load average before/after: {before} / {loadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
