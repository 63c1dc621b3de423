// The dashboard's ECharts options, built from the API's figures (Summary, §7).
import { SEGMENTS } from './format.js'

const COLORS = ['#409eff', '#67c23a', '#e6a23c', '#f56c6c', '#909399', '#9b59b6']
const GRID = { left: 48, right: 48, top: 36, bottom: 28, containLabel: true }

/** What every daily chart shares: colours, tooltip, legend, grid and the dates along the bottom. */
function daily(days) {
  return {
    color: COLORS,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: GRID,
    xAxis: { type: 'category', data: days.map((day) => day.date.slice(5)) },
  }
}

/** Line charts of `series`: (name, the value of a day). */
function lines(days, series) {
  return {
    ...daily(days),
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map(([name, value]) => ({ name, type: 'line', showSymbol: false, data: days.map(value) })),
  }
}

/** New and active members per day. */
export function membersChart(days) {
  return lines(days, [['新增会员', (d) => d.new_members], ['活跃会员', (d) => d.active_members]])
}

/** Orders (bars) and revenue in 元 (line, right axis) per day. */
export function ordersChart(days) {
  return {
    ...daily(days),
    yAxis: [{ type: 'value', name: '订单', minInterval: 1 }, { type: 'value', name: '元' }],
    series: [
      { name: '订单数', type: 'bar', data: days.map((d) => d.orders) },
      { name: '销售额（元）', type: 'line', yAxisIndex: 1, showSymbol: false, data: days.map((d) => d.revenue_fen / 100) },
    ],
  }
}

/** Points issued and spent per day. */
export function pointsChart(days) {
  return lines(days, [['发放积分', (d) => d.points_issued], ['消耗积分', (d) => d.points_spent]])
}

/** Check-ins, coupons used and buyers per day. */
export function engagementChart(days) {
  return lines(days, [['签到', (d) => d.checkins], ['用券', (d) => d.coupons_used], ['下单会员', (d) => d.buyers]])
}

/** Members by tier at `as_of` (a doughnut). */
export function tiersChart(tiers) {
  return {
    color: COLORS,
    tooltip: { trigger: 'item', formatter: '{b}：{c} 人（{d}%）' },
    legend: { bottom: 0 },
    series: [{
      type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'],
      label: { formatter: '{b}\n{c} 人' },
      data: tiers.map((tier) => ({ name: tier.name, value: tier.members })),
    }],
  }
}

/** Where the range's points went: issued against spent, expired, clawed back and forfeited. */
export function pointsFlowChart(points) {
  const flows = [
    ['发放', points.issued, '#67c23a'],
    ['兑换消耗', points.spent, '#409eff'],
    ['过期', points.expired, '#909399'],
    ['退款扣回', points.clawed_back, '#e6a23c'],
    ['人工扣减/注销', points.forfeited, '#f56c6c'],
  ]
  return {
    tooltip: { trigger: 'axis' },
    grid: GRID,
    xAxis: { type: 'category', data: flows.map(([name]) => name), axisLabel: { interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{
      type: 'bar', barMaxWidth: 48, label: { show: true, position: 'top' },
      data: flows.map(([, value, color]) => ({ value, itemStyle: { color } })),
    }],
  }
}

/** Members per RFM segment (horizontal bars, in the contract's order, top down). */
export function segmentsChart(segments) {
  const ordered = [...segments].reverse()
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: ordered.map((s) => SEGMENTS[s.segment] ?? s.name) },
    series: [{ type: 'bar', barMaxWidth: 18, color: '#409eff', label: { show: true, position: 'right' }, data: ordered.map((s) => s.members) }],
  }
}
