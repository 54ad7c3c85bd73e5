#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import sys

from voiceproject.startup import settings_loaded_or_exit


def main():
    settings_loaded_or_exit()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
