#!/usr/bin/env bash
# Placeholder until the guest build lands.
exit 0
