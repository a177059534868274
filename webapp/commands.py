"""Maintenance commands: `flask --app webapp rotate-key`."""
import os

import click

from . import storage


def init_app(app):
    @app.cli.command("rotate-key")
    def rotate_key():
        """Encrypt the stored secrets (the password, OAuth sign-ins and their client
        secrets) under a new key (in the key file), or under the first key of
        SENDWELL_FERNET_KEY (put the new key first, run this, then drop the old one)."""
        store = app.extensions["store"]
        if app.config.get("FERNET_KEY"):
            count = store.reencrypt(storage.keyring(storage.keys_from_setting(app.config["FERNET_KEY"])))
            click.echo(f"Re-encrypted {count} stored secret(s) under the first key of "
                       "SENDWELL_FERNET_KEY. You can now remove the old keys from it.")
            return
        key_file = os.path.join(app.instance_path, storage.KEY_FILE)
        count = storage.rotate_key_file(store, key_file)
        click.echo(f"Re-encrypted {count} stored secret(s) under a new key in {key_file}.")
