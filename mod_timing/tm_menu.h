/* tm_menu.h -- the shop and its menu: GET /api/shop, GET /api/menu. */
#ifndef TM_MENU_H
#define TM_MENU_H

#include "mod_timing.h"

int tm_shop_get(tm_ctx *c);
int tm_menu_list(tm_ctx *c);

#endif /* TM_MENU_H */
