/* Target URLs: the one place that knows where a password hides in one. */
#ifndef DBREG_URL_H
#define DBREG_URL_H

/* Copies `text` (a driver or server message about `url`) with the URL
 * replaced by its redacted form and every password of `url` (as written,
 * percent-decoded or unescaped) replaced by "***". Returns a malloc'd
 * string, NULL on allocation failure. */
char *dbreg_url_scrub(const char *text, const char *url);

#endif
