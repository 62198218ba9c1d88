/**
 * The relay's HTTP and WebSocket paths, in one place. Bodies are in the schema files
 * named beside each path.
 */
export const Routes = {
  healthz: '/healthz', // GET: HealthResponse
  readyz: '/readyz', // GET: HealthResponse (503 when Postgres or Redis is down)
  metrics: '/metrics', // GET: Prometheus text
  accounts: '/v1/accounts', // POST RegisterRequest → RegisterResponse
  me: '/v1/accounts/me', // GET → WhoAmIResponse; DELETE deletes the account (queues, keys, blobs)
  accountByUsername: '/v1/accounts/username/:username', // GET → AccountLookupResponse
  token: '/v1/auth/token', // POST TokenRequest → TokenResponse
  devices: '/v1/devices', // GET → DeviceListResponse; POST AddDeviceRequest → AddDeviceResponse
  device: '/v1/devices/:deviceId', // DELETE
  keys: '/v1/keys', // PUT UploadKeysRequest → 204
  keyCount: '/v1/keys/count', // GET → KeyCountResponse
  bundle: '/v1/keys/:accountId/:deviceId', // GET (deviceId or "*") → PreKeyBundleResponse
  messages: '/v1/messages/:accountId', // PUT SendMessagesRequest → SendMessagesResponse
  socket: '/v1/ws', // WebSocket: ClientFrame up, ServerFrame down
  attachments: '/v1/attachments', // POST CreateUploadRequest → UploadStatus
  attachment: '/v1/attachments/:id', // HEAD/PATCH (offset upload), GET (Range)
  turn: '/v1/calling/turn', // GET → TurnCredentials
} as const;
