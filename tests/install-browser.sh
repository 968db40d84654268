#!/bin/sh
# Debian's Chromium for the browser tests (Playwright cannot download its own browser offline),
# and a CJK font so screenshots show Chinese.  Does nothing when both are already there.
set -e
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
    exit 0
fi
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
