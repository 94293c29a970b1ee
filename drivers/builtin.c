/* The one list of drivers built into dbreg. Adding a driver is a folder
 * drivers/<name>/ and one line here (see drivers/README.md); the core reads
 * this list through dbreg_driver_for_url and never names a driver. */
#include "dbreg/driver.h"

extern const struct dbreg_driver dbreg_driver_sqlite, dbreg_driver_postgres;

/* NULL-terminated; registered in this order on first use. */
const struct dbreg_driver *const dbreg_builtin_drivers[] = {
	&dbreg_driver_sqlite,
	&dbreg_driver_postgres,
	NULL,
};
