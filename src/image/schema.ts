import type { Migration } from '../meta/index.js';

/**
 * The image store's tables. An image is its config (the config digest is the image ID, as in Docker) plus the ordered
 * chain of layers; layers are shared between images and keyed by chain ID; names (tags) point at images.
 */
export const IMAGE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE layers (
        chain_id  TEXT PRIMARY KEY,
        diff_id   TEXT NOT NULL,
        parent    TEXT REFERENCES layers(chain_id),
        size      INTEGER NOT NULL,        -- bytes of the unpacked files (Docker's DiffSize)
        tar_size  INTEGER NOT NULL,        -- bytes of the uncompressed layer tar
        tarsplit  TEXT,                    -- content digest of the tar-split record that rebuilds the exact tar
        tar_blob  TEXT,                    -- content digest of the raw tar, only when tar-split cannot rebuild it
        created   TEXT NOT NULL
      );
      CREATE INDEX layers_parent ON layers(parent);

      CREATE TABLE images (
        id          TEXT PRIMARY KEY,      -- sha256 of the config bytes
        config_size INTEGER NOT NULL,
        created     TEXT,                  -- the config's "created"
        parent      TEXT,                  -- the local parent image (commit/build), as Docker's "Parent"
        top_chain   TEXT REFERENCES layers(chain_id),
        size        INTEGER NOT NULL,
        labels      TEXT NOT NULL DEFAULT '{}',
        added_at    TEXT NOT NULL
      );
      CREATE INDEX images_parent ON images(parent);

      CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, idx)
      );
      CREATE INDEX image_layers_chain ON image_layers(chain_id);

      -- A reference 'docker.io/library/busybox:latest' → image.
      CREATE TABLE tags (
        name       TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        tag        TEXT NOT NULL,
        image_id   TEXT NOT NULL REFERENCES images(id),
        created    TEXT NOT NULL
      );
      CREATE INDEX tags_image ON tags(image_id);

      -- Manifests this image is known by (pulled, pushed, loaded): kept in the content store, give RepoDigests.
      CREATE TABLE image_manifests (
        image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        repository TEXT NOT NULL,
        digest     TEXT NOT NULL,
        media_type TEXT NOT NULL,
        PRIMARY KEY (image_id, repository, digest)
      );
      CREATE INDEX image_manifests_digest ON image_manifests(digest);

      -- Compressed forms of a layer known to exist in registries, so a push can skip or mount them.
      CREATE TABLE layer_blobs (
        diff_id    TEXT NOT NULL,
        digest     TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size       INTEGER NOT NULL,
        repository TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (diff_id, digest, repository)
      );

      -- Work in progress (a load, a pull) holds a lease on what it wrote so that prune/check leave it alone.
      CREATE TABLE leases (
        id      TEXT PRIMARY KEY,
        pid     INTEGER NOT NULL,
        created TEXT NOT NULL
      );
      CREATE TABLE lease_resources (
        lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,           -- 'content' | 'snapshot'
        ref      TEXT NOT NULL,
        PRIMARY KEY (lease_id, kind, ref)
      );
    `,
  },
];
