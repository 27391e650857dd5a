const LOCAL_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

export interface Platform {
  os: string;
  architecture: string;
}

/** The platform Wharf builds for: the machine's own (there is no emulation). */
export function localPlatform(): Platform {
  return { os: 'linux', architecture: LOCAL_ARCH[process.arch] ?? process.arch };
}

/** The automatic platform ARGs (BUILDPLATFORM, TARGETARCH, …); build and target are the same platform. */
export function platformArgs(platform: Platform): Record<string, string> {
  const p = `${platform.os}/${platform.architecture}`;
  return {
    BUILDPLATFORM: p,
    BUILDOS: platform.os,
    BUILDARCH: platform.architecture,
    TARGETPLATFORM: p,
    TARGETOS: platform.os,
    TARGETARCH: platform.architecture,
  };
}
