/* SPDX-License-Identifier: Apache-2.0 */
/* tm_menu.h -- the shop and its menu: reading them, and the admin's
 * changes to both. */
#ifndef TM_MENU_H
#define TM_MENU_H

#include "mod_timing.h"

int tm_shop_get(tm_ctx *c);
int tm_shop_update(tm_ctx *c);      /* PUT /api/admin/shop */
int tm_menu_list(tm_ctx *c);
int tm_menu_create(tm_ctx *c);      /* POST /api/admin/menu */
int tm_menu_update(tm_ctx *c);      /* PUT /api/admin/menu/:id */
int tm_menu_delete(tm_ctx *c);      /* DELETE /api/admin/menu/:id */

#endif /* TM_MENU_H */
