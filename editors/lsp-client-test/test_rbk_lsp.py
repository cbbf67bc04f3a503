"""`rbk lsp` driven over stdio by pytest-lsp, a language client the project did not write:
diagnostics, completion, hover, and an E0301 quick fix applied and re-checked."""

from __future__ import annotations

import pathlib

from lsprotocol import types
from pytest_lsp import LanguageClient

ERROR = types.DiagnosticSeverity.Error


def position(text: str, needle: str, offset: int = 0) -> types.Position:
    """The LSP position (UTF-16 columns) of `offset` characters into the first `needle`."""
    at = text.index(needle) + offset
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return types.Position(line=line, character=len(text[start:at].encode("utf-16-le")) // 2)


def offset(text: str, pos: types.Position) -> int:
    """The string index of an LSP position (UTF-16 columns) in `text`."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: pos.line])
    line, units, i = lines[pos.line], 0, 0
    while i < len(line) and units < pos.character:
        units += 2 if ord(line[i]) > 0xFFFF else 1
        i += 1
    return start + i


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with the edits of one document applied (their ranges refer to the old text)."""
    spans = sorted(
        ((offset(text, e.range.start), offset(text, e.range.end), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def open_document(client: LanguageClient, path: pathlib.Path, text: str | None = None) -> str:
    uri = path.as_uri()
    text = path.read_text() if text is None else text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="rbk", version=1, text=text)
        )
    )
    return uri


def change_document(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def errors(diagnostics: list[types.Diagnostic]) -> list[str]:
    return [f"{d.code}: {d.message}" for d in diagnostics if d.severity == ERROR]


async def test_seed_runbook_has_no_errors(client: LanguageClient, workdir: pathlib.Path):
    uri = open_document(client, workdir / "db_pool_exhaustion.rbk")
    diagnostics = await client.published.wait(uri, 1)
    assert errors(diagnostics) == []


async def test_broken_buffer_gets_an_error_with_its_code(
    client: LanguageClient, workdir: pathlib.Path
):
    path = workdir / "db_pool_exhaustion.rbk"
    text = path.read_text()
    uri = open_document(client, path)
    await client.published.wait(uri, 1)
    # A call to an action std.postgres does not have.
    typo = text.replace("pg.pool_usage(db)\n", "pg.pool_usagee(db)\n", 1)
    assert typo != text
    change_document(client, uri, 2, typo)
    diagnostics = await client.published.wait(uri, 2)
    assert errors(diagnostics), diagnostics
    assert all(d.code and d.range.start.line > 0 for d in diagnostics if d.severity == ERROR)
    assert any("pool_usagee" in d.message for d in diagnostics), diagnostics
    # Undoing the edit clears them.
    change_document(client, uri, 3, text)
    assert errors(await client.published.wait(uri, 3)) == []


async def test_completion_after_alias_dot(client: LanguageClient, workdir: pathlib.Path):
    path = workdir / "db_pool_exhaustion.rbk"
    text = path.read_text()
    uri = open_document(client, path)
    await client.published.wait(uri, 1)
    # The user types `pg.` on a new line of the `count` step.
    anchor = "let before = pg.pool_usage(db)\n"
    typed = text.replace(anchor, anchor + "    pg.\n", 1)
    change_document(client, uri, 2, typed)
    await client.published.wait(uri, 2)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(typed, anchor + "    pg.", len(anchor + "    pg.")),
            context=types.CompletionContext(
                trigger_kind=types.CompletionTriggerKind.TriggerCharacter, trigger_character="."
            ),
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    labels = {item.label for item in items or []}
    assert {"terminate", "pool_usage", "idle_connections"} <= labels, sorted(labels)
    # Only members of std.postgres: no keywords after `pg.`.
    assert "runbook" not in labels, sorted(labels)


async def test_hover_on_action_call_shows_its_effect(
    client: LanguageClient, workdir: pathlib.Path
):
    path = workdir / "db_pool_exhaustion.rbk"
    text = path.read_text()
    uri = open_document(client, path)
    await client.published.wait(uri, 1)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(text, "pg.terminate(", len("pg.term")),
        )
    )
    assert hover is not None
    contents = hover.contents
    value = contents.value if isinstance(contents, types.MarkupContent) else str(contents)
    assert "terminate" in value, value
    assert "destructive" in value, value


async def test_e0301_quick_fix_clears_the_error(client: LanguageClient, workdir: pathlib.Path):
    path = workdir / "e0301" / "E0301.rbk"
    text = path.read_text()
    uri = open_document(client, path)
    diagnostics = await client.published.wait(uri, 1)
    e0301 = [d for d in diagnostics if d.code == "E0301"]
    assert len(e0301) == 1 and e0301[0].severity == ERROR, diagnostics

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=e0301[0].range,
            context=types.CodeActionContext(
                diagnostics=e0301, only=[types.CodeActionKind.QuickFix]
            ),
        )
    )
    fixes = [a for a in actions or [] if isinstance(a, types.CodeAction)]
    preferred = [a for a in fixes if a.is_preferred]
    assert len(preferred) == 1, [a.title for a in fixes]
    fix = preferred[0]
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and fix.edit.changes is not None
    assert set(fix.edit.changes) == {uri}

    fixed = apply(text, fix.edit.changes[uri])
    assert "approval required from" in fixed
    change_document(client, uri, 2, fixed)
    after = await client.published.wait(uri, 2)
    assert [d for d in after if d.code == "E0301"] == [], after
    assert errors(after) == []
