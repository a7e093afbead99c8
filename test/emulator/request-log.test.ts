import t from 'tap'
import { busiestSecond, type LoggedRequest } from '../../src/emulator/request-log.js'

const at = (ms: number): LoggedRequest => ({ method: 'GET', path: '/', operation: null, query: {}, body: null, status: 200, at: new Date(ms).toISOString(), fault: null, from: '127.0.0.1' })

t.test('the busiest second counts requests less than 1000 ms apart, in any order', async (t) => {
  t.equal(busiestSecond([]), 0)
  t.equal(busiestSecond([at(0)]), 1)
  t.equal(busiestSecond([at(999), at(0)]), 2, '999 ms apart share a second')
  t.equal(busiestSecond([at(1000), at(0)]), 1, '1000 ms apart do not')
  t.equal(busiestSecond([at(2150), at(0), at(1900), at(1200), at(100), at(2100)]), 4, '1200, 1900, 2100 and 2150')
})
