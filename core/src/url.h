/* Target URLs: the one place that knows where a password hides in one. */
#ifndef DBREG_URL_H
#define DBREG_URL_H

/* Copies `text` (a driver or server message about `url`) with the URL
 * replaced by its redacted form and every password of `url` (as written,
 * percent-decoded or unescaped) replaced by "***". Returns a malloc'd
 * string, NULL on allocation failure. */
char *dbreg_url_scrub(const char *text, const char *url);

/* Why a URI cannot be told apart safely, or NULL: an '@' that libpq reads
 * as part of the host, port or database (postgres://u:p@ss@h/db, where the
 * password's '@' was not written %40, or u:p/ss@h, where its '/' was not
 * %2F), so that its messages and the history's key would hold a piece of
 * the password. Keyword strings and sqlite: URLs are never unclear. */
const char *dbreg_url_unclear(const char *url);

#endif
