// How the console shows the API's values: fen as 元, instants and dates, and the Chinese names of codes.

/** Fen as a price: 12345 -> "¥123.45". */
export function yuan(fen) {
  if (fen === null || fen === undefined) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const whole = Math.floor(abs / 100).toLocaleString('zh-CN')
  return `${sign}¥${whole}.${String(abs % 100).padStart(2, '0')}`
}

/** A number with thousands separators; null as a dash. */
export function count(value) {
  return value === null || value === undefined ? '—' : Number(value).toLocaleString('zh-CN')
}

/** 元 typed by the merchant (up to 2 decimals) as integer fen; blank stays null. */
export function toFen(yuanValue) {
  return yuanValue === null || yuanValue === undefined || yuanValue === '' ? null : Math.round(yuanValue * 100)
}

/** Integer fen as 元 for an input; null stays null. */
export function toYuan(fen) {
  return fen === null || fen === undefined ? null : fen / 100
}

/** An instant the API renders in Shanghai time (+08:00) as "YYYY-MM-DD HH:mm". */
export function instant(iso) {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '—'
}

export const SEGMENTS = {
  important_value: '重要价值客户',
  important_develop: '重要发展客户',
  important_keep: '重要保持客户',
  important_winback: '重要挽留客户',
  general_value: '一般价值客户',
  general_develop: '一般发展客户',
  general_keep: '一般保持客户',
  general_winback: '一般挽留客户',
  lost: '流失客户',
  prospect: '潜在客户',
}

export const LEDGER_REASONS = {
  signup_gift: '注册礼',
  checkin: '签到',
  checkin_streak_bonus: '连续签到奖励',
  checkin_makeup: '补签',
  order: '订单积分',
  refund: '退款扣回',
  redeem: '积分兑换',
  referral: '邀请奖励',
  interaction: '互动奖励',
  admin_adjust: '人工调整',
  expire: '积分过期',
  checkout: '下单抵现',
  automation: '自动化营销',
  account_closed: '注销清零',
}

export const COUPON_KINDS = { amount_off: '满减券', percent_off: '折扣券', gift: '赠品券' }
export const COUPON_STATUSES = { unused: '未使用', used: '已使用', expired: '已过期' }
export const COUPON_SOURCES = {
  claim: '领券中心',
  redeem: '积分兑换',
  signup: '注册礼',
  birthday: '生日礼',
  member_day: '会员日',
  admin: '定向发放',
  referral: '邀请奖励',
  automation: '自动化营销',
}
export const GENDERS = { male: '男', female: '女', unknown: '未知' }

/** What a coupon template or coupon gives, in words: "满200减30", "8折（最多减50元）", "赠品". */
export function couponOffer(item) {
  const threshold = item.min_spend_fen ? `满${item.min_spend_fen / 100}` : '无门槛'
  if (item.kind === 'amount_off') return `${threshold}减${item.amount_off_fen / 100}元`
  if (item.kind === 'percent_off') {
    const cap = item.max_discount_fen ? `，最多减${item.max_discount_fen / 100}元` : ''
    return `${threshold}打${item.percent_off_pct / 10}折${cap}`
  }
  return `赠品（${threshold}）`
}

/** A template's validity in words. */
export function validityText(validity) {
  if (validity.type === 'relative') return `领取后 ${validity.days} 天内有效`
  return `${instant(validity.start)} 至 ${instant(validity.end)}`
}

/** Tier codes as names (null: every tier). */
export function tierNames(codes, tiers) {
  if (!codes) return '全部等级'
  return codes.map((code) => tiers.find((tier) => tier.code === code)?.name ?? code).join('、')
}
