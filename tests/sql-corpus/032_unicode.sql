-- Données en français: « café », 日本語, emoji 🎉
CREATE TABLE IF NOT EXISTS "Catégories" (
  id integer PRIMARY KEY,
  "libellé" text NOT NULL DEFAULT 'café'
);
INSERT INTO "Catégories" (id, "libellé") VALUES (1, 'thé 🍵');
