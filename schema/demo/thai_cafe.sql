-- SPDX-License-Identifier: Apache-2.0
-- thai_cafe.sql -- demo data for `make run`: a small Thai café.
-- Loaded only into an empty menu, so a second run keeps the shop's edits.

UPDATE shop SET name = 'Baan Timing Café · บ้านไทมิ่ง', currency = 'THB',
       timezone = 'Asia/Bangkok', updated_at = UTC_TIMESTAMP(3)
WHERE id = 1;

INSERT INTO menu_items (name, description, category, price_minor, available,
                        position, created_at, updated_at)
SELECT * FROM (
    SELECT 'Pad Thai' AS name, 'Rice noodles, tamarind, egg, peanuts' AS d,
           'Noodles' AS c, 6000 AS p, TRUE AS a, 10 AS pos,
           UTC_TIMESTAMP(3) AS ca, UTC_TIMESTAMP(3) AS ua
    UNION ALL SELECT 'ผัดกะเพราไก่', 'Stir-fried chicken with holy basil, fried egg',
           'Rice', 6500, TRUE, 20, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'ข้าวมันไก่', 'Hainanese chicken rice with ginger sauce',
           'Rice', 5500, TRUE, 30, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'Green Curry · แกงเขียวหวาน', 'Chicken green curry with jasmine rice',
           'Rice', 8000, TRUE, 40, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'ต้มยำกุ้ง', 'Hot and sour prawn soup',
           'Soup', 12000, TRUE, 50, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'Som Tam · ส้มตำ', 'Green papaya salad, mild or Thai hot',
           'Salad', 5000, TRUE, 60, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'Mango Sticky Rice · ข้าวเหนียวมะม่วง', 'Sweet sticky rice, ripe mango, coconut cream',
           'Dessert', 7500, TRUE, 70, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'ชาเย็น', 'Thai iced tea with condensed milk',
           'Drinks', 4500, TRUE, 80, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'Iced Latte', 'Double shot, fresh milk',
           'Drinks', 6550, TRUE, 90, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
    UNION ALL SELECT 'Coconut Water · น้ำมะพร้าว', 'Served in the shell',
           'Drinks', 4000, FALSE, 100, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
) AS demo
WHERE NOT EXISTS (SELECT 1 FROM menu_items);
