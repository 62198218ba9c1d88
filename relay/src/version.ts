/** The relay's version, reported by /healthz and the metrics. */
export const RELAY_VERSION = '0.1.0';
