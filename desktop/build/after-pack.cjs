// electron-builder afterPack hook: flips Electron's fuses in the packed binary before signing.
// RunAsNode off, NODE_OPTIONS and --inspect off, the app only loads from app.asar, and the asar's
// embedded integrity hash is checked at start. CommonJS because electron-builder require()s hooks.
const path = require('node:path');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');

/** @param {import('app-builder-lib').AfterPackContext} context */
exports.default = async function afterPack(context) {
  const platform = context.electronPlatformName;
  const { productFilename } = context.packager.appInfo;
  const binary =
    platform === 'darwin'
      ? path.join(context.appOutDir, `${productFilename}.app`)
      : platform === 'win32'
        ? path.join(context.appOutDir, `${productFilename}.exe`)
        : path.join(context.appOutDir, context.packager.executableName);
  await flipFuses(binary, {
    version: FuseVersion.V1,
    // arm64 macOS binaries must stay ad-hoc signed after their bytes change.
    resetAdHocDarwinSignature: platform === 'darwin' && context.arch === 3,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
  });
};
