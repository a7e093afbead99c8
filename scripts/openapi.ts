import { writeFileSync } from 'node:fs'
import { openapiDocument } from '../src/openapi.js'

// Writes openapi/openapi.json from the routes (npm run openapi).
writeFileSync(new URL('../openapi/openapi.json', import.meta.url), `${JSON.stringify(await openapiDocument(), null, 2)}\n`)
