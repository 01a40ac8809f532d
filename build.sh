#!/usr/bin/env bash
# Publishes every executable into dist/bin/ (run them as dist/bin/NAME) and packs
# dist/aurora-VERSION.zip, Aurora's distZip.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Every project that produces an executable for operators and users.
executables=(
  src/AuroraLog/Aurora.LogTool.csproj
  src/Scheduler/Server/Aurora.Scheduler.Server.csproj
  src/Client/Aurora/Aurora.Cli.csproj
  src/Client/Admin/Aurora.Admin.csproj
  src/Agent/Host/Aurora.Agent.Host.csproj
)

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
rm -rf dist
mkdir -p dist/bin
for project in "${executables[@]}"; do
  echo "==> publishing $project"
  dotnet publish "$project" -c Release -o dist/bin --nologo -v quiet -p:UseAppHost=true
done
rm -f dist/bin/*.pdb

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/aurora-$version"
cp -r dist/bin "$staging/aurora-$version/bin"
cp README.md "$staging/aurora-$version/"
[ -d docs ] && cp -r docs "$staging/aurora-$version/docs"
[ -d examples ] && cp -r examples "$staging/aurora-$version/examples"
echo "==> dist/bin: $(ls dist/bin | grep -v '\.' | tr '\n' ' ')"
if command -v zip >/dev/null 2>&1; then
  (cd "$staging" && zip -qr "aurora-$version.zip" "aurora-$version")
  mv "$staging/aurora-$version.zip" dist/
  echo "==> dist/aurora-$version.zip"
else
  # dist/bin is complete without it; ./test.sh installs zip, or: apt-get install -y zip
  echo "==> zip is not installed: dist/aurora-$version.zip not packed (apt-get install -y zip)"
fi
