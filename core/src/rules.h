/* The declaration rules (rules.c): declared tables (DBR02x), tools
 * (DBR050), migration ids and versions (DBR040/041), recommendations
 * (DBR101/102), and the foreign key type check the schema model allows. */
#ifndef DBREG_RULES_H
#define DBREG_RULES_H

#include "registry.h"

/* Appends the findings to the registry's diagnostics. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_rules_check(struct dbreg_registry *reg);

/* Which of two packages declaring one table owns it (DBR024 blames the
 * other): negative when a (at index ia of reg->packages) does. The core
 * first, as it is applied before every package; else the file read first,
 * then registry order. */
int dbreg_rules_owner_cmp(const struct dbreg_package *a, size_t ia, const struct dbreg_package *b, size_t ib);

/* What dbreg keeps in table `name` when it is one of its own (the history
 * tables it creates and writes on every target, cli.md), else NULL: no
 * package may declare (DBR024) or create (DBR046) one. */
const char *dbreg_rules_reserved_table(const char *name);

#endif
