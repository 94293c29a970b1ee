/* SQLite's allocator for dbreg (sqlite_alloc.c). */
#ifndef DBREG_SQLITE_ALLOC_H
#define DBREG_SQLITE_ALLOC_H

/* Makes SQLite keep the small blocks it frees per thread; call before
 * SQLite starts (the driver's constructor does). */
void dbreg_sqlite_alloc_install(void);

#endif
