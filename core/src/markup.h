/* Escaping for the pages `dbreg docs` writes, one function per output
 * language: whatever a manifest holds, a page shows it as text and every
 * diagram stays one the language's parser reads. */
#ifndef DBREG_MARKUP_H
#define DBREG_MARKUP_H

#include "util.h"

/* Where Markdown text goes: a paragraph or heading, or a GFM table cell
 * (where '|' ends the cell unless escaped, even inside a code span). */
enum dbreg_md_where { DBREG_MD_INLINE, DBREG_MD_CELL };

/* s as Markdown that renders to s itself on one line: no emphasis, link,
 * HTML, entity or block syntax; line breaks become spaces (as a soft break
 * renders), other control characters their Unicode pictures. NULL: nothing. */
void dbreg_markup_md_text(struct dbreg_buf *b, const char *s, enum dbreg_md_where where);

/* s as a code span that ends where s ends, whatever backticks it holds;
 * control characters, line breaks too, as their pictures (␊). NULL or "":
 * nothing. */
void dbreg_markup_md_code(struct dbreg_buf *b, const char *s, enum dbreg_md_where where);

/* s as a link destination: bytes other than letters, digits and -._~/
 * percent-encoded. */
void dbreg_markup_md_url(struct dbreg_buf *b, const char *s);

/* Where a Mermaid string goes: a flowchart label or an erDiagram comment;
 * or an erDiagram line outside an entity's block (entity names, relationship
 * labels), where the lexer also reads "direction TB" anywhere in the line. */
enum dbreg_mermaid_where { DBREG_MERMAID_LABEL, DBREG_MERMAID_ER_LINE };

/* s as a double-quoted Mermaid string: '"', '#', '%', '\', ':', '`', '<',
 * '>' and '&' as Mermaid entity codes (#quot;, #35;, ...), which Mermaid
 * turns back into the characters when it draws; control characters as
 * spaces. */
void dbreg_markup_mermaid_string(struct dbreg_buf *b, const char *s, enum dbreg_mermaid_where where);

/* An erDiagram entity name: bare when the lexer reads it as one name,
 * otherwise a quoted string. */
void dbreg_markup_er_entity(struct dbreg_buf *b, const char *s);

/* An erDiagram attribute type or name, which the grammar cannot quote
 * (Mermaid up to 11.14): characters it does not take become '-'
 * ("numeric(10,2)" -> "numeric(10-2)"), and a '_' goes before a word that
 * would not start an attribute or would read as a key ("pk" -> "_pk"). */
void dbreg_markup_er_word(struct dbreg_buf *b, const char *s);

#endif
